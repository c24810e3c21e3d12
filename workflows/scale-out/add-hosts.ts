import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineUpdate,
  executeChild,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import type { HostRequest } from '../../activities/scale-out/hosts.js';
import { loadSite } from '../site-config.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import { Saga, type RollbackReport } from '../../src/domain/saga.js';
import { planHa, type HaPlan } from '../../src/domain/ha-admission.js';
import { SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import type { coordinatedBackup } from '../backup/coordinated-backup.js';

export interface AddHostsInput {
  site: string;
  cluster: string;
  hosts: HostRequest[];
  /** Skip the pre-change coordinated backup (recorded in the result). */
  skipBackup?: boolean;
  /** Wait for `approve` (with the plan and the thumbprints) before changing anything. */
  requireApproval?: boolean;
}

export interface AddHostsResult {
  status: 'complete';
  cluster: string;
  added: string[];
  ha: HaPlan;
  backup: { setId: string } | { skipped: true };
  approvedBy?: string;
}

export type ScaleOutStepStatus = 'pending' | 'running' | 'done' | 'failed' | 'undone' | 'not-undone';
export interface ScaleOutProgress {
  state: 'checking' | 'awaiting-approval' | 'backing-up' | 'changing' | 'checking-result' | 'rolling-back' | 'complete' | 'rolled-back';
  steps: { name: string; undo: string; status: ScaleOutStepStatus; detail?: string }[];
  plan?: { hosts: { name: string; thumbprint: string; source: 'pinned' | 'discovered' }[]; ha: HaPlan };
  rollback?: RollbackReport;
}

export const scaleOutProgressQuery = defineQuery<ScaleOutProgress>('scaleOutProgress');
export const approveUpdate = defineUpdate<{ approvedBy: string }, [{ by: string }]>('approve');

const nonRetryableErrorTypes = [...NON_RETRYABLE_TYPES];
/**
 * Forward steps: a fault no retry fixes rolls the run back at once. On a cancel the run waits for
 * the step in flight to end: its undo must not run before the change it undoes has landed.
 */
const steps = proxyActivities<typeof activities>({
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  startToCloseTimeout: '30m',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5, nonRetryableErrorTypes },
});
/** Compensations: retried harder, since what they leave undone an operator must fix by hand. */
const undo = proxyActivities<typeof activities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 10, nonRetryableErrorTypes },
});

/**
 * New hosts in an existing cluster, then the HA admission-control reservation recomputed — as a
 * saga: every step registers its undo before it acts; on a failure or a cancel the undos run in
 * reverse, not cancellable, and the run fails ScaleOutRolledBack with what was undone.
 */
export async function addHosts(input: AddHostsInput): Promise<AddHostsResult> {
  upsertSearchAttributes([
    { key: SddcSite, value: input.site },
    { key: SddcOperation, value: 'scale-out-add-hosts' },
  ]);
  const progress: ScaleOutProgress = { state: 'checking', steps: [] };
  setHandler(scaleOutProgressQuery, () => progress);
  let approvedBy: string | undefined;
  setHandler(
    approveUpdate,
    ({ by }) => {
      approvedBy = by.trim();
      return { approvedBy };
    },
    {
      validator: ({ by }) => {
        if (!by?.trim()) throw new Error('say who approves: --by NAME');
        if (progress.state !== 'awaiting-approval') throw new Error(`this run is not waiting for approval (it is ${progress.state})`);
      },
    },
  );

  const { config } = await loadSite(input.site, 'Scale-out');
  if (!config.scaleOut) {
    throw ApplicationFailure.create({ type: 'BadConfig', nonRetryable: true, message: `sites.${input.site}.scaleOut is not set: give hostUser and hostPassword (a secret reference) for the new hosts` });
  }
  const base = { vcenter: config.vcenter, scaleOut: config.scaleOut, cluster: input.cluster };
  const pre = await steps.precheckAddHosts.executeWithOptions({ summary: `Pre-check: cluster ${input.cluster}, ${input.hosts.length} new host(s), thumbprints` }, [{ ...base, hosts: input.hosts }]);
  const ha = planHa(pre.haBefore, pre.hostsBefore + pre.hosts.length);
  progress.plan = { hosts: pre.hosts, ha };
  progress.steps = [
    ...pre.hosts.map((h) => ({ name: `add host ${h.name}`, undo: `remove ${h.name} (maintenance mode, disconnect, remove)`, status: 'pending' as const })),
    ...(ha.change === 'recomputed' ? [{ name: `HA admission control: ${ha.reason}`, undo: 'restore the HA settings read before the run', status: 'pending' as const }] : []),
  ];

  const discovered = pre.hosts.filter((h) => h.source === 'discovered');
  if (input.requireApproval) {
    progress.state = 'awaiting-approval';
    await condition(() => approvedBy !== undefined);
  } else if (discovered.length) {
    throw ApplicationFailure.create({
      type: 'ScaleOutPrecheckFailed',
      nonRetryable: true,
      message: `nothing was changed: vCenter reports thumbprints for hosts not pinned; check them, then pin them (${discovered.map((h) => `--host ${h.name}=${h.thumbprint}`).join(' ')}) or run with --require-approval`,
      details: [{ thumbprints: discovered }],
    });
  }

  let backup: AddHostsResult['backup'] = { skipped: true };
  if (!input.skipBackup) {
    progress.state = 'backing-up';
    const r = await executeChild<typeof coordinatedBackup>('coordinatedBackup', { workflowId: `coordinated-backup-${input.site}`, args: [{ site: input.site }] });
    backup = { setId: r.setId };
  }

  const saga = new Saga();
  const mark = (i: number, status: ScaleOutStepStatus, detail?: string) => {
    progress.steps[i] = { ...progress.steps[i]!, status, ...(detail ? { detail } : {}) };
  };
  let current = -1;
  try {
    progress.state = 'changing';
    for (const [i, h] of pre.hosts.entries()) {
      current = i;
      saga.push({ step: progress.steps[i]!.name, undo: progress.steps[i]!.undo, run: () => undo.removeHostFromCluster.executeWithOptions({ summary: `Undo: remove host ${h.name}` }, [{ vcenter: config.vcenter, host: h.name }]).then(() => undefined) });
      mark(i, 'running');
      const r = await steps.addHostToCluster.executeWithOptions({ summary: `Add host ${h.name} to ${input.cluster}` }, [{ ...base, host: h.name, thumbprint: h.thumbprint }]);
      mark(i, 'done', r.how);
    }
    if (ha.change === 'recomputed') {
      current = pre.hosts.length;
      saga.push({ step: progress.steps[current]!.name, undo: progress.steps[current]!.undo, run: () => undo.setClusterHa.executeWithOptions({ summary: `Undo: restore HA settings of ${input.cluster}` }, [{ vcenter: config.vcenter, cluster: input.cluster, ha: ha.before }]) });
      mark(current, 'running');
      await steps.setClusterHa.executeWithOptions({ summary: `HA admission control of ${input.cluster}: ${ha.reason}` }, [{ vcenter: config.vcenter, cluster: input.cluster, ha: ha.after }]);
      mark(current, 'done');
    }
    current = -1;
    progress.state = 'checking-result';
    const inv = await steps.scaleOutInventory.executeWithOptions({ summary: 'Post-check: hosts connected, out of maintenance mode, HA as planned' }, [{ vcenter: config.vcenter }]);
    const problems: string[] = [];
    for (const h of pre.hosts) {
      const seen = inv.hosts.find((x) => x.name.toLowerCase() === h.name.toLowerCase());
      if (!seen || seen.cluster !== input.cluster) problems.push(`${h.name} is not in ${input.cluster}`);
      else if (seen.connectionState !== 'connected' || seen.inMaintenanceMode) problems.push(`${h.name} is ${seen.connectionState}${seen.inMaintenanceMode ? ', in maintenance mode' : ''}`);
    }
    const cluster = inv.clusters.find((c) => c.name === input.cluster);
    if (JSON.stringify(cluster?.ha) !== JSON.stringify(ha.after)) problems.push(`HA settings of ${input.cluster} are not as planned`);
    if (problems.length) throw ApplicationFailure.create({ type: 'ScaleOutPostcheckFailed', nonRetryable: true, message: `post-check: ${problems.join('; ')}` });
  } catch (err) {
    if (current >= 0) mark(current, 'failed', err instanceof Error ? err.message : String(err));
    progress.state = 'rolling-back';
    const report = await CancellationScope.nonCancellable(() => saga.unwind());
    progress.rollback = report;
    for (const u of report.undone) progress.steps.forEach((s, i) => s.name === u.step && mark(i, 'undone'));
    for (const f of report.failed) progress.steps.forEach((s, i) => s.name === f.step && mark(i, 'not-undone', f.error));
    progress.state = 'rolled-back';
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : (err as Error);
    const why = isCancellation(err) ? 'the run was cancelled' : cause.message;
    throw ApplicationFailure.create({
      type: 'ScaleOutRolledBack',
      nonRetryable: true,
      message: `adding hosts to ${input.cluster} was rolled back (${why}): undone ${report.undone.length}${report.failed.length ? `; NOT undone — fix by hand: ${report.failed.map((f) => `${f.undo} (${f.error})`).join('; ')}` : ''}`,
      details: [report],
    });
  }
  progress.state = 'complete';
  return { status: 'complete', cluster: input.cluster, added: pre.hosts.map((h) => h.name), ha, backup, ...(approvedBy ? { approvedBy } : {}) };
}
