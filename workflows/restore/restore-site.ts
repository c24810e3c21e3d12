import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineUpdate,
  executeChild,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import type { RestoreInstruction } from '../../src/providers/nsx/types.js';
import type { SiteConfig } from '../../src/config/schema.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import type { RestoreRunbook } from '../../src/restore/runbook.js';
import { BackupSetId, SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import type { verifyBackupSet } from '../backup/verify-backup-set.js';
import { loadSite } from '../site-config.js';
import { sandboxOver } from '../../src/domain/endpoint-tls.js';

export interface RestoreSiteInput {
  site: string;
  /** Default: the newest complete, verified set. */
  setId?: string;
  /** Allow a set that is not complete and verified (the runbook says so). */
  force?: boolean;
  /** No go-ahead asked before each stage. */
  yes?: boolean;
  /** How often the products are polled (lab: shorter). */
  pollMs?: number;
  /** `sandbox`: restore into the site's drill sandbox (drill.sandbox) instead of its own addresses. */
  into?: 'site' | 'sandbox';
  /** How long the restored NSX cluster may take to become STABLE (default 30 minutes). */
  stableWithinMs?: number;
  /** Answer NSX's operator pauses without waiting (a drill into a sandbox, where nobody waits at the console). */
  autoAnswer?: boolean;
}

export interface RestoreSiteResult {
  status: 'restored';
  setId: string;
  vcenterVersion: string;
  nsxVersion: string;
  /** Who let each stage go ahead ("--yes" when none was asked), and the answers given to NSX. */
  goAheads: { stage: string; by: string }[];
  nsxAnswers: { instructions: string[]; by: string }[];
}

type StageStatus = 'pending' | 'waiting' | 'running' | 'done' | 'failed';
export interface RestoreProgress {
  state: 'planning' | 'checking' | 'waiting-for-go' | 'restoring-vcenter' | 'restoring-nsx' | 'waiting-for-nsx-answer' | 'post-checking' | 'restored' | 'failed' | 'cancelled';
  setId?: string;
  stages: { name: string; status: StageStatus; detail?: string }[];
  /** What the run waits for: a go-ahead for a stage, or answers to NSX's instructions. */
  waitingFor?: { kind: 'go'; stage: string } | { kind: 'nsx-answer'; instructions: RestoreInstruction[] };
  runbook?: RestoreRunbook;
}

/** The site's config with its drill sandbox in place of its own vCenter and NSX Manager (logins default to the site's). */
export function sandboxed(config: SiteConfig, site: string): SiteConfig {
  const sb = config.drill?.sandbox;
  if (!sb) throw ApplicationFailure.create({ type: 'BadConfig', nonRetryable: true, message: `site ${site} has no drill.sandbox: say where drills restore to (a vCenter appliance in restore mode and an NSX Manager, on an isolated network)` });
  return { ...config, vcenter: sandboxOver(config.vcenter, sb.vcenter), nsx: sandboxOver(config.nsx, sb.nsx) };
}

export const restoreProgressQuery = defineQuery<RestoreProgress>('restoreProgress');
/** `sddc-ops restore continue RUN --by NAME [--answer ID …]`: a go-ahead for the stage waiting, or the answers NSX asked for. */
export const restoreContinueUpdate = defineUpdate<{ accepted: string }, [{ by: string; answers?: { id: string; [k: string]: unknown }[] }]>('restoreContinue');

const STAGES = ['re-verify the set', 'vCenter Server', 'NSX Manager', 'post-checks'] as const;

/**
 * Drives the restore runbook of a paired set: re-verify the set now; check that the new vCenter
 * (in restore mode) accepts the archive and the new NSX Manager answers; restore vCenter
 * (validate, job, polled), then NSX (restore source, the set's timestamp, start, polled — when NSX
 * suspends for an operator action its instructions are shown and the run waits for `restore
 * continue --answer`); then post-checks. Each stage waits for a go-ahead unless `yes`. A failure
 * stops with the product's own words and what to do next.
 */
export async function restoreSite(input: RestoreSiteInput): Promise<RestoreSiteResult> {
  upsertSearchAttributes([
    { key: SddcSite, value: input.site },
    { key: SddcOperation, value: 'restore-site' },
  ]);
  const progress: RestoreProgress = { state: 'planning', stages: STAGES.map((name) => ({ name, status: 'pending' })) };
  const goAheads: RestoreSiteResult['goAheads'] = [];
  const nsxAnswers: RestoreSiteResult['nsxAnswers'] = [];
  let given: { by: string; answers?: { id: string }[] } | undefined;
  const publish = () =>
    setCurrentDetails(
      `**Restore of site ${input.site}** — ${progress.state}${progress.setId ? `, set \`${progress.setId}\`` : ''}\n\n` +
        progress.stages.map((s) => `- [${s.status === 'done' ? 'x' : ' '}] ${s.name} — ${s.status}${s.detail ? `: ${s.detail}` : ''}`).join('\n') +
        (progress.waitingFor?.kind === 'go' ? `\n\n**Waiting for a go-ahead**: \`sddc-ops restore continue RUN --by NAME\` starts ${progress.waitingFor.stage}` : '') +
        (progress.waitingFor?.kind === 'nsx-answer'
          ? `\n\n**NSX waits for the operator**:\n${progress.waitingFor.instructions.map((i) => `- \`${i.id}\`: ${i.name}`).join('\n')}\n\nDo what it says, then \`sddc-ops restore continue RUN --by NAME ${progress.waitingFor.instructions.map((i) => `--answer ${i.id}`).join(' ')}\``
          : ''),
    );
  const set = (patch: Partial<RestoreProgress>) => {
    Object.assign(progress, patch);
    publish();
  };
  const mark = (i: number, status: StageStatus, detail?: string) => {
    progress.stages[i] = { name: progress.stages[i]!.name, status, ...(detail ? { detail } : {}) };
    publish();
  };
  setHandler(restoreProgressQuery, () => progress);
  setHandler(
    restoreContinueUpdate,
    ({ by, answers }) => {
      given = { by: by.trim(), ...(answers ? { answers } : {}) };
      return { accepted: progress.waitingFor?.kind === 'go' ? `go-ahead for ${progress.waitingFor.stage}` : 'answers to NSX' };
    },
    {
      validator: ({ by, answers }) => {
        if (!by?.trim()) throw new Error('say who goes ahead: --by NAME');
        const w = progress.waitingFor;
        if (!w) throw new Error(`this restore is not waiting (it is ${progress.state})`);
        if (w.kind === 'nsx-answer') {
          const missing = w.instructions.filter((i) => !answers?.some((a: { id: string }) => a.id === i.id));
          if (missing.length) throw new Error(`answer what NSX asks: ${missing.map((i) => `--answer ${i.id}`).join(' ')}`);
        }
      },
    },
  );
  publish();

  const loaded = await loadSite(input.site, 'The restore');
  const config = input.into === 'sandbox' ? sandboxed(loaded.config, input.site) : loaded.config;
  const quick = proxyActivities<typeof activities>({ startToCloseTimeout: '2m', retry: { initialInterval: '2s', maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] } });
  const long = proxyActivities<typeof activities>({ startToCloseTimeout: '8h', heartbeatTimeout: '1m', retry: { initialInterval: '5s', maximumInterval: '1m', maximumAttempts: 20, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] } });
  const step = async <T>(i: number, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> => {
    mark(i, 'running');
    try {
      const r = await fn();
      mark(i, 'done', detail?.(r));
      return r;
    } catch (err) {
      if (isCancellation(err)) {
        // Stop what the stage started on the products, then end Cancelled; the appliances are left to be redeployed.
        const { stopped } = await CancellationScope.nonCancellable(() => quick.stopRestore.executeWithOptions({ summary: 'Cancelled: stop the restore jobs on the products' }, [{ config }]));
        mark(i, 'failed', `cancelled; stopped ${stopped.join(' and ') || 'nothing (none was running)'} — redeploy the appliance(s) before restoring again`);
        set({ state: 'cancelled', waitingFor: undefined });
        throw err;
      }
      mark(i, 'failed', (err as { cause?: Error }).cause?.message ?? (err as Error).message);
      set({ state: 'failed' });
      throw err;
    }
  };
  /** Unless --yes: the stage starts only when an operator says so. */
  const goAhead = async (stage: string) => {
    if (input.yes) return void goAheads.push({ stage, by: '--yes' });
    given = undefined;
    set({ state: 'waiting-for-go', waitingFor: { kind: 'go', stage } });
    await condition(() => given !== undefined);
    goAheads.push({ stage, by: given!.by });
    set({ waitingFor: undefined });
  };

  const runbook = await quick.planRestore.executeWithOptions({ summary: `Pick the set to restore${input.setId ? ` (${input.setId})` : ''} and write its runbook` }, [
    { site: input.site, config, ...(input.setId ? { setId: input.setId } : {}), ...(input.force ? { force: true } : {}) },
  ]);
  upsertSearchAttributes([{ key: BackupSetId, value: runbook.setId }]);
  set({ setId: runbook.setId, runbook, state: 'checking' });

  await step(0, async () => {
    if (runbook.forced) return 'skipped: forced (the runbook says why)';
    const r = await executeChild<typeof verifyBackupSet>('verifyBackupSet', { workflowId: `restore-verify-${runbook.setId}-${workflowInfo().runId}`, args: [{ site: input.site, setId: runbook.setId }] });
    return `${r.checked} files verified now`;
  }, (d) => d);
  await quick.precheckRestoreTargets.executeWithOptions({ summary: 'Pre-check: the new vCenter (restore mode) accepts the archive; the new NSX Manager answers' }, [{ config, runbook }]);

  await goAhead('the vCenter restore');
  set({ state: 'restoring-vcenter' });
  await step(1, async () => {
    await quick.startVcenterRestore.executeWithOptions({ summary: `Start the vCenter restore from ${runbook.vcenter.folder}` }, [{ config, runbook }]);
    return long.awaitVcenterRestore.executeWithOptions({ summary: 'Wait for the vCenter restore job' }, [{ config, pollMs: input.pollMs }]);
  }, (r) => `restored, version ${r.version}`);

  await goAhead('the NSX restore');
  set({ state: 'restoring-nsx' });
  await step(2, async () => {
    // NSX-V answers its restore call when the restore is done (heartbeating meanwhile): the long proxy.
    await long.startNsxRestore.executeWithOptions({ summary: `Start the NSX restore of ${runbook.nsx.backupAt}` }, [{ config, runbook }]);
    for (;;) {
      const st = await long.awaitNsxRestore.executeWithOptions({ summary: 'Wait for the NSX restore (or its operator pause)' }, [{ config, pollMs: input.pollMs }]);
      if (st.status.value === 'SUCCESS') return st;
      const instructions = st.instructions ?? [];
      given = input.autoAnswer ? { by: 'the drill (sandbox: answered without waiting)' } : undefined;
      set({ state: 'waiting-for-nsx-answer', waitingFor: { kind: 'nsx-answer', instructions } });
      await condition(() => given !== undefined);
      nsxAnswers.push({ instructions: instructions.map((i) => i.id), by: given!.by });
      const answers = given!.answers ?? instructions.map((i) => ({ id: i.id }));
      set({ state: 'restoring-nsx', waitingFor: undefined });
      await quick.advanceNsxRestore.executeWithOptions({ summary: `Answer NSX: ${instructions.map((i) => i.id).join(', ')}` }, [{ config, answers }]);
    }
  }, () => 'restored');

  set({ state: 'post-checking' });
  const post = await step(
    3,
    () => long.restorePostCheck.executeWithOptions({ summary: 'Post-check: versions and NSX node are the set\'s; the NSX cluster becomes STABLE' }, [{ config, runbook, ...(input.pollMs ? { pollMs: input.pollMs } : {}), ...(input.stableWithinMs ? { stableWithinMs: input.stableWithinMs } : {}) }]),
    (r) => `vCenter ${r.vcenterVersion}, NSX ${r.nsxVersion}${r.nsxClusterStatus ? `, cluster ${r.nsxClusterStatus}` : ''}`,
  );
  set({ state: 'restored' });
  return { status: 'restored', setId: runbook.setId, vcenterVersion: post.vcenterVersion, nsxVersion: post.nsxVersion, goAheads, nsxAnswers };
}
