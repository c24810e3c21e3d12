import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  condition,
  defineQuery,
  defineUpdate,
  executeChild,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import type { HostLogin, HostRequest } from '../../activities/scale-out/hosts.js';
import type { IbmCloudConfig, SiteConfig, VcenterConfig } from '../../src/config/schema.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import { Saga, type RollbackReport } from '../../src/domain/saga.js';
import type { HaPlan, HaSettings } from '../../src/domain/ha-admission.js';
import type { coordinatedBackup } from '../backup/coordinated-backup.js';
import { loadSite } from '../site-config.js';
import { scaleOutDetails } from './details.js';

/** What every scale-out run takes besides its own target. */
export interface ScaleOutCommon {
  site: string;
  hosts: HostRequest[];
  /** Skip the pre-change coordinated backup (recorded in the result). */
  skipBackup?: boolean;
  /** Wait for `approve` (with the plan and the thumbprints) before changing anything. */
  requireApproval?: boolean;
  /** Only plan: pre-check (read-only), then return the steps a run would take, changing nothing. */
  planOnly?: boolean;
}

/** What a scale-out run that went through reports. */
export interface ScaleOutResult {
  status: 'complete';
  cluster: string;
  added: string[];
  ha: HaPlan;
  backup: { setId: string } | { skipped: true };
  order?: CapacityOrder;
  approvedBy?: string;
}

/** The site as the worker's config has it now, with the scale-out settings it must have. */
export interface ScaleOutSiteConfig {
  config: SiteConfig;
  capacity: SiteConfig['capacity'];
  ibm?: IbmCloudConfig;
  scaleOut?: SiteConfig['scaleOut'];
  /** How vCenter logs in to new hosts (vcenter-direct only). */
  login?: HostLogin;
}

export async function scaleOutSite(site: string): Promise<ScaleOutSiteConfig> {
  const { config, ibm } = await loadSite(site, 'Scale-out');
  const capacity = config.capacity ?? { provider: 'vcenter-direct' as const };
  if (capacity.provider === 'ibm-vmware-solutions') {
    if (!ibm) throw ApplicationFailure.create({ type: 'BadConfig', nonRetryable: true, message: `sites.${site}.capacity is ibm-vmware-solutions, but ibmCloud is not set: give ibmCloud.apiKey (a secret reference)` });
    return { config, capacity, ibm, scaleOut: config.scaleOut, login: undefined };
  }
  if (!config.scaleOut) {
    throw ApplicationFailure.create({ type: 'BadConfig', nonRetryable: true, message: `sites.${site}.scaleOut is not set: give hostUser and hostPassword (a secret reference) for the new hosts` });
  }
  return { config, capacity, ibm, scaleOut: config.scaleOut, login: { hostUser: config.scaleOut.hostUser, hostPassword: config.scaleOut.hostPassword } };
}

/** What `--plan` shows: the steps a run takes (each with its undo), the thumbprints, HA before → after. */
export interface ScaleOutPlanResult {
  status: 'planned';
  plan: NonNullable<ScaleOutProgress['plan']>;
  steps: { name: string; undo: string }[];
}

export function planResult(state: ScaleOutState): ScaleOutPlanResult {
  state.update({ state: 'planned' });
  return { status: 'planned', plan: state.progress.plan!, steps: state.progress.steps.map(({ name, undo }) => ({ name, undo })) };
}

/** What a run will do, shown with `--plan`, while it waits for approval, and on its Web UI page. */
export interface ScaleOutPlan {
  hosts?: { name: string; thumbprint: string; source: 'pinned' | 'discovered' | 'ordered' }[];
  /** Capacity ordered from a provider (the price IBM quoted when the order was verified). */
  order?: CapacityOrder;
  ha?: HaPlan;
  iks?: IksPlan;
  /** Why this run must be approved even without --require-approval. */
  approvalNeeded?: string;
}
export interface CapacityOrder {
  provider: 'ibm-vmware-solutions';
  instance: string;
  price?: { total_monthly: string; currency: string };
}
export interface IksPlan {
  cluster: string;
  pool: string;
  change: string;
  workers: { before: number; after: number };
  ack?: { by: string; at: string; setId: string };
}

export type ScaleOutStepStatus = 'pending' | 'running' | 'done' | 'failed' | 'undone' | 'not-undone';
export interface ScaleOutProgress {
  state: 'checking' | 'planned' | 'awaiting-approval' | 'backing-up' | 'changing' | 'awaiting-site-config' | 'checking-result' | 'rolling-back' | 'complete' | 'rolled-back';
  /** A new site's block for the config, to add before `sddc-ops site ready`. */
  siteBlock?: string;
  steps: { name: string; undo: string; status: ScaleOutStepStatus; detail?: string }[];
  plan?: ScaleOutPlan;
  rollback?: RollbackReport;
}

export const scaleOutProgressQuery = defineQuery<ScaleOutProgress>('scaleOutProgress');
export const approveUpdate = defineUpdate<{ approvedBy: string }, [{ by: string }]>('approve');

const nonRetryableErrorTypes = [...NON_RETRYABLE_TYPES];
/**
 * Forward steps: a fault no retry fixes rolls the run back at once. On a cancel the run waits for
 * the step in flight to end: its undo must not run before the change it undoes has landed.
 */
export const steps = proxyActivities<typeof activities>({
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  startToCloseTimeout: '30m',
  // vCenter tasks are polled and heartbeated every 500 ms: a dead worker shows within seconds.
  heartbeatTimeout: '20s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5, nonRetryableErrorTypes },
});
/** Compensations: retried harder, since what they leave undone an operator must fix by hand. */
export const undo = proxyActivities<typeof activities>({
  startToCloseTimeout: '30m',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 10, nonRetryableErrorTypes },
});

/**
 * The run's checklist — a query for the CLI, and the current details on the run's page in the Web
 * UI (steps, undos, a rollback section) — and its approval (an update with a validator).
 */
export function scaleOutState(what: string) {
  const progress: ScaleOutProgress = { state: 'checking', steps: [] };
  let approvedBy: string | undefined;
  const publish = () => setCurrentDetails(scaleOutDetails(what, progress));
  /** Every change of the checklist goes through here, so the UI shows what the query answers. */
  const update = (patch: Partial<ScaleOutProgress>) => {
    Object.assign(progress, patch);
    publish();
  };
  const mark = (i: number, status: ScaleOutStepStatus, detail?: string) => {
    const { detail: _was, ...step } = progress.steps[i]!;
    progress.steps[i] = { ...step, status, ...(detail ? { detail } : {}) };
    publish();
  };
  setHandler(scaleOutProgressQuery, () => progress);
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
  publish();
  return { progress, update, mark, approvedBy: () => approvedBy };
}
export type ScaleOutState = ReturnType<typeof scaleOutState>;

/**
 * With --require-approval, or when the plan says it needs one (an order that costs money, a stale
 * app-data acknowledgement): wait for it. Otherwise a thumbprint not pinned stops the run here, before any change.
 */
export async function approvalGate(input: Pick<ScaleOutCommon, 'requireApproval'>, state: ScaleOutState): Promise<void> {
  const discovered = state.progress.plan?.hosts?.filter((h) => h.source === 'discovered') ?? [];
  if (input.requireApproval || state.progress.plan?.approvalNeeded) {
    state.update({ state: 'awaiting-approval' });
    await condition(() => state.approvedBy() !== undefined);
  } else if (discovered.length) {
    throw ApplicationFailure.create({
      type: 'ScaleOutPrecheckFailed',
      nonRetryable: true,
      message: `nothing was changed: vCenter reports thumbprints for hosts not pinned; check them, then pin them (${discovered.map((h) => `--host ${h.name}=${h.thumbprint}`).join(' ')}) or run with --require-approval`,
      details: [{ thumbprints: discovered }],
    });
  }
}

/** The site's coordinated backup, as a child run, before anything changes (unless skipped). */
export async function preChangeBackup(input: ScaleOutCommon, state: ScaleOutState): Promise<{ setId: string } | { skipped: true }> {
  if (input.skipBackup) return { skipped: true };
  state.update({ state: 'backing-up' });
  try {
    const r = await executeChild<typeof coordinatedBackup>('coordinatedBackup', { workflowId: `coordinated-backup-${input.site}`, args: [{ site: input.site }] });
    return { setId: r.setId };
  } catch (err) {
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.create({
      type: 'PreChangeBackupFailed',
      nonRetryable: true,
      message: `nothing was changed: the pre-change backup of site ${input.site} failed (${ownWords(err).message}); fix it and run again, or run with --skip-backup to go on without one`,
    });
  }
}

export interface SagaStep {
  name: string;
  undo: string;
  /** Registered before `run`: it must be safe when the step did nothing (look up, then act). None: the step leaves nothing to undo (`undo` says why). */
  compensate?: () => Promise<unknown>;
  run: () => Promise<string | void>;
}

/**
 * Runs the steps in order, each undo registered before its step acts, then `check`. On a failure
 * or a cancel: the undos run newest first in a non-cancellable scope, the checklist says what was
 * undone and what was not, and the run fails ScaleOutRolledBack with the report.
 */
export async function runSaga(what: string, state: ScaleOutState, list: SagaStep[], check: () => Promise<void>): Promise<void> {
  const { progress, mark, update } = state;
  const saga = new Saga();
  let current = -1;
  try {
    update({ state: 'changing' });
    for (const [i, s] of list.entries()) {
      current = i;
      const compensate = s.compensate;
      if (compensate) saga.push({ step: s.name, undo: s.undo, run: () => compensate().then(() => undefined, (e: unknown) => Promise.reject(ownWords(e))) });
      mark(i, 'running');
      mark(i, 'done', (await s.run()) ?? undefined);
    }
    current = -1;
    update({ state: 'checking-result' });
    await check();
  } catch (err) {
    if (current >= 0) mark(current, 'failed', isCancellation(err) ? 'cancelled' : ownWords(err).message);
    update({ state: 'rolling-back' });
    const report = await CancellationScope.nonCancellable(() => saga.unwind());
    // An undone step keeps the reason it failed, if it did.
    for (const u of report.undone) progress.steps.forEach((s, i) => s.name === u.step && mark(i, 'undone', s.status === 'failed' ? `it failed: ${s.detail}` : undefined));
    for (const f of report.failed) progress.steps.forEach((s, i) => s.name === f.step && mark(i, 'not-undone', f.error));
    update({ state: 'rolled-back', rollback: report });
    const why = isCancellation(err) ? 'the run was cancelled' : ownWords(err).message;
    throw ApplicationFailure.create({
      type: 'ScaleOutRolledBack',
      nonRetryable: true,
      message: `${what} was rolled back (${why}): undone ${report.undone.length}${report.failed.length ? `; NOT undone — fix by hand: ${report.failed.map((f) => `${f.undo} (${f.error})`).join('; ')}` : ''}`,
      details: [report],
    });
  }
  update({ state: 'complete' });
}

/** A pre-check's refusal is the run's failure as it is (type ScaleOutPrecheckFailed, its words), not "Activity task failed". */
export async function precheck<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) throw err.cause;
    throw err;
  }
}

/** An activity's failure in the step's own words (its cause), not "Activity task failed". */
function ownWords(err: unknown): Error {
  if ((err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) && err.cause) return err.cause;
  return err instanceof Error ? err : new Error(String(err));
}

/** The host steps both workflows share: add each host (undo: remove it), then the HA plan (undo: the settings before). */
export function hostSteps(o: { vcenter: VcenterConfig; login: HostLogin; cluster: string; hosts: { name: string; thumbprint: string }[]; ha: HaPlan }): SagaStep[] {
  const { vcenter, login: scaleOut } = o;
  const list: SagaStep[] = o.hosts.map((h) => ({
    name: `add host ${h.name}`,
    undo: `remove ${h.name} (maintenance mode, disconnect, remove)`,
    compensate: () => undo.removeHostFromCluster.executeWithOptions({ summary: `Undo: remove host ${h.name}` }, [{ vcenter, host: h.name }]),
    run: async () => (await steps.addHostToCluster.executeWithOptions({ summary: `Add host ${h.name} to ${o.cluster}` }, [{ vcenter, scaleOut, cluster: o.cluster, host: h.name, thumbprint: h.thumbprint }])).how,
  }));
  return [...list, ...haStep(o)];
}

/** The HA reservation recomputed for the new host count (undo: the settings read before) — or nothing, when it stays. */
export function haStep(o: { vcenter: VcenterConfig; cluster: string; ha: HaPlan }): SagaStep[] {
  if (o.ha.change !== 'recomputed') return [];
  const restore: HaSettings = o.ha.before;
  const { vcenter } = o;
  return [
    {
      name: `HA admission control: ${o.ha.reason}`,
      undo: 'restore the HA settings read before the run',
      compensate: () => undo.setClusterHa.executeWithOptions({ summary: `Undo: restore HA settings of ${o.cluster}` }, [{ vcenter, cluster: o.cluster, ha: restore }]),
      run: () => steps.setClusterHa.executeWithOptions({ summary: `HA admission control of ${o.cluster}: ${o.ha.reason}` }, [{ vcenter, cluster: o.cluster, ha: o.ha.after }]),
    },
  ];
}

/** Every new host in the cluster, connected and out of maintenance mode; the cluster's HA as planned. */
export async function postCheck(vcenter: VcenterConfig, cluster: string, hosts: { name: string }[], ha: HaSettings): Promise<void> {
  const inv = await steps.scaleOutInventory.executeWithOptions({ summary: 'Post-check: hosts connected, out of maintenance mode, HA as planned' }, [{ vcenter }]);
  const problems: string[] = [];
  for (const h of hosts) {
    const seen = inv.hosts.find((x) => x.name.toLowerCase() === h.name.toLowerCase());
    if (!seen || seen.cluster !== cluster) problems.push(`${h.name} is not in ${cluster}`);
    else if (seen.connectionState !== 'connected' || seen.inMaintenanceMode) problems.push(`${h.name} is ${seen.connectionState}${seen.inMaintenanceMode ? ', in maintenance mode' : ''}`);
  }
  const found = inv.clusters.find((c) => c.name === cluster);
  if (!found || !sameHa(found.ha, ha)) problems.push(`HA settings of ${cluster} are not as planned`);
  if (problems.length) throw ApplicationFailure.create({ type: 'ScaleOutPostcheckFailed', nonRetryable: true, message: `post-check: ${problems.join('; ')}` });
}

function sameHa(a: HaSettings, b: HaSettings): boolean {
  const norm = (h: HaSettings) => JSON.stringify({ ...h, policy: Object.fromEntries(Object.entries(h.policy).filter(([, v]) => v !== undefined).sort()) });
  return norm(a) === norm(b);
}
