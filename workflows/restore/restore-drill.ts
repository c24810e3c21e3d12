import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  ActivityFailure,
  defineQuery,
  executeChild,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import type { SandboxRecord } from '../../activities/restore/drill.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import { BackupSetId, SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import { loadSite } from '../site-config.js';
import { sandboxed, type restoreSite } from './restore-site.js';
import { notifyContacts } from '../alerts/notify.js';

export interface RestoreDrillInput {
  site: string;
  /** Default: the newest complete, verified set. */
  setId?: string;
  /** The operator redeployed the sandbox appliances after a drill left them part-way through a restore. */
  sandboxRedeployed?: boolean;
  /** How often the products are polled (lab: shorter). */
  pollMs?: number;
}

export interface RestoreDrillResult {
  status: 'passed';
  site: string;
  setId: string;
  drillRun: string;
  /** What was compared, per product ("4 segments, 3 firewall rules"). */
  compared: { nsx: string; vcenter: string };
  restoreTested: { at: string; drillRun: string };
}

export interface DrillProgress {
  state: 'starting' | 'restoring' | 'comparing' | 'passed' | 'failed' | 'cancelled';
  setId?: string;
  /** The restore into the sandbox, a child run (its own page in the Web UI). */
  restoreRun?: string;
  problems?: string[];
}
export const drillProgressQuery = defineQuery<DrillProgress>('drillProgress');

/** The failure that started it all: a child's or an activity's cause, as deep as it goes. */
function innermost(err: unknown): Error {
  let e = err as Error;
  while ((e instanceof ChildWorkflowFailure || e instanceof ActivityFailure || (e instanceof ApplicationFailure && e.cause)) && e.cause) e = e.cause;
  return e instanceof Error ? e : new Error(String(err));
}

/** Failures of the restore that left the sandbox untouched: the set did not verify, or the sandbox refused it before anything began. */
const UNTOUCHED = new Set(['VerificationFailed', 'RestoreRefused', 'BadRequest', 'NotFound', 'BadConfig']);

/**
 * A restore drill (SureBackup's idea, for this estate): restore the newest set into the site's
 * sandbox appliances (a child restoreSite, no go-aheads, NSX's pauses answered), then compare what
 * came back with what the set captured when it was taken. Equal: the set becomes restore-tested.
 * Different or failed: the drill fails naming what differs, and the site's drill contacts are told.
 * A drill that stops part-way marks the sandbox dirty; the next one refuses until it is redeployed.
 */
export async function restoreDrill(input: RestoreDrillInput): Promise<RestoreDrillResult> {
  const info = workflowInfo();
  const drillRun = info.workflowId;
  upsertSearchAttributes([
    { key: SddcSite, value: input.site },
    { key: SddcOperation, value: 'restore-drill' },
  ]);
  const progress: DrillProgress = { state: 'starting' };
  setHandler(drillProgressQuery, () => progress);
  const set = (patch: Partial<DrillProgress>) => {
    Object.assign(progress, patch);
    setCurrentDetails(
      `**Restore drill of site ${input.site}** — ${progress.state}${progress.setId ? `, set \`${progress.setId}\`` : ''}` +
        (progress.restoreRun ? `\n\nRestore into the sandbox: workflow \`${progress.restoreRun}\`` : '') +
        (progress.problems?.length ? `\n\n**Problems**\n${progress.problems.map((p) => `- ${p}`).join('\n')}` : ''),
    );
  };
  set({});

  const { config, webhooks } = await loadSite(input.site, 'The restore drill');
  const target = config.backupTarget;
  const sandboxConfig = sandboxed(config, input.site);
  const quick = proxyActivities<typeof activities>({ startToCloseTimeout: '2m', retry: { initialInterval: '2s', maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] } });
  const record = (r: Omit<SandboxRecord, 'site' | 'drillRun' | 'at'>) =>
    quick.writeSandboxRecord.executeWithOptions({ summary: `Sandbox: ${r.state}` }, [{ target, record: { ...r, site: input.site, drillRun, at: new Date().toISOString() } }]);

  const redeploy = config.drill?.sandbox.redeploy;
  // One drill at a time per sandbox, whichever way it started; a claim left by a drill that ended is taken over.
  let claim = await quick.claimSandbox.executeWithOptions({ summary: 'Claim the sandbox' }, [{ target, drillRun }]);
  if (!claim.claimed && claim.holder) {
    const holder = claim.holder;
    const ended = await quick.runHasEnded.executeWithOptions({ summary: `Does drill ${holder} still run?` }, [{ workflowId: holder }]).catch(() => false);
    if (ended) claim = await quick.claimSandbox.executeWithOptions({ summary: `Take the sandbox over from ${holder} (it ended)` }, [{ target, drillRun, takeOverFrom: holder }]);
  }
  if (!claim.claimed) throw ApplicationFailure.create({ type: 'EndpointBusy', nonRetryable: true, message: `the sandbox is in use by drill ${claim.holder ?? '(another drill)'}; one drill at a time — try again when it has ended` });
  try {
    return await drillInClaimedSandbox();
  } finally {
    await CancellationScope.nonCancellable(() => quick.releaseSandbox.executeWithOptions({ summary: 'Release the sandbox' }, [{ target, drillRun }]));
  }

  async function drillInClaimedSandbox(): Promise<RestoreDrillResult> {
    const before = await quick.readSandboxRecord.executeWithOptions({ summary: 'What the sandbox holds' }, [{ target }]);
    // A drill that ended while it held the sandbox (killed, terminated) left it part-way, like a cancelled one.
    if (before && before.drillRun !== drillRun && before.state !== 'restored' && !redeploy && !input.sandboxRedeployed) {
      throw ApplicationFailure.create({
        type: 'SandboxDirty',
        nonRetryable: true,
        message: `the sandbox was left part-way through a restore by drill ${before.drillRun} at ${before.at}${before.reason ? ` (${before.reason})` : ''}: redeploy the sandbox vCenter (in restore mode) and NSX Manager, then run \`sddc-ops restore drill --site ${input.site} --sandbox-redeployed\``,
      });
    }

    const runbook = await quick.planRestore.executeWithOptions({ summary: `Pick the set to drill${input.setId ? ` (${input.setId})` : ''}` }, [
      { site: input.site, config, ...(input.setId ? { setId: input.setId } : {}) },
    ]);
    const setId = runbook.setId;
    upsertSearchAttributes([{ key: BackupSetId, value: setId }]);
    const restoreRun = `${drillRun}-restore`;
    set({ setId, restoreRun, state: 'restoring' });

    const fail = async (problems: string[], why: string): Promise<never> => {
      set({ state: 'failed', problems });
      await quick.recordDrillOutcome.executeWithOptions({ summary: `Record the failed drill in ${setId}` }, [{ target, setId, record: { at: new Date().toISOString(), drillRun, ok: false, problems } }]);
      await notifyFailure(problems, why);
      throw ApplicationFailure.create({ type: 'DrillFailed', nonRetryable: true, message: `restore drill of set ${setId} failed: ${why}: ${problems.join('; ')}`, details: [{ problems }] });
    };
    const notifyFailure = (problems: string[], why: string) =>
      notifyContacts({
        contacts: config.drill?.notify ?? [],
        webhooks,
        key: `${drillRun}-${info.runId}`,
        notification: {
          kind: 'drill-failed',
          subject: `Restore drill of site ${input.site} failed: set ${setId} ${why}`,
          lines: [...problems.map((p) => `• ${p}`), `Drill run: ${drillRun}`, `The set is not marked restore-tested; look at the run in the Temporal Web UI.`],
          site: input.site,
        },
      });

    await record({ state: 'in-use', setId });
    if (redeploy) {
      try {
        await quick.redeploySandbox.executeWithOptions({ summary: 'Deploy the sandbox appliances anew (drill.sandbox.redeploy)', startToCloseTimeout: redeploy.timeout }, [
          { redeploy, site: input.site, drillRun, setId },
        ]);
      } catch (err) {
        if (isCancellation(err)) {
          await CancellationScope.nonCancellable(() => record({ state: 'dirty', setId, reason: 'the drill was cancelled while the sandbox was being redeployed' }));
          set({ state: 'cancelled' });
          throw err;
        }
        await record({ state: 'dirty', setId, reason: `the redeploy hook failed: ${innermost(err).message}` });
        return fail([innermost(err).message], 'the sandbox could not be redeployed');
      }
    }
    try {
      await executeChild<typeof restoreSite>('restoreSite', {
        workflowId: restoreRun,
        args: [{ site: input.site, setId, yes: true, into: 'sandbox', autoAnswer: true, ...(input.pollMs ? { pollMs: input.pollMs } : {}) }],
      });
    } catch (err) {
      if (isCancellation(err)) {
        await CancellationScope.nonCancellable(() => record({ state: 'dirty', setId, reason: 'the drill was cancelled during the restore; what the restore had started was stopped' }));
        set({ state: 'cancelled' });
        throw err;
      }
      const inner = innermost(err);
      const type = inner instanceof ApplicationFailure ? inner.type : undefined;
      const message = inner.message;
      // Refused before anything began: the sandbox is as it was (and a dirty one got past the check above only redeployed).
      await record(type && UNTOUCHED.has(type) ? { state: 'restored', setId } : { state: 'dirty', setId, reason: `the restore failed part-way: ${message}` });
      return fail([message], type === 'VerificationFailed' ? 'the set no longer verifies' : 'the restore into the sandbox failed');
    }

    set({ state: 'comparing' });
    let comparison;
    try {
      comparison = await quick.compareRestoredInventory.executeWithOptions({ summary: 'Compare what the sandbox holds now with what the set captured' }, [{ config: sandboxConfig, setId }]);
    } catch (err) {
      if (isCancellation(err)) {
        await CancellationScope.nonCancellable(() => record({ state: 'restored', setId }));
        set({ state: 'cancelled' });
        throw err;
      }
      await record({ state: 'restored', setId });
      return fail([innermost(err).message], 'the restored sandbox could not be compared');
    }
    await record({ state: 'restored', setId });
    if (comparison.differences.length) return fail(comparison.differences, 'the restored configuration differs from what the backup captured');

    const at = new Date().toISOString();
    await quick.recordDrillOutcome.executeWithOptions({ summary: `Mark ${setId} restore-tested` }, [{ target, setId, record: { at, drillRun, ok: true, problems: [] } }]);
    set({ state: 'passed' });
    return { status: 'passed', site: input.site, setId, drillRun, compared: comparison.compared, restoreTested: { at, drillRun } };
  }
}
