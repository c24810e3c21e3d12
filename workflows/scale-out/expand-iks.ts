import { ApplicationFailure, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import type { PoolChange } from '../../activities/scale-out/iks.js';
import type { IksRecord } from '../../src/domain/backup-set.js';
import { parseDuration } from '../../src/domain/duration.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import { SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import { loadSite } from '../site-config.js';
import { approvalGate, precheck, planResult, runSaga, scaleOutState, steps, undo, type SagaStep, type ScaleOutPlanResult } from './common.js';

export interface ExpandIksInput {
  site: string;
  /** The IKS cluster, by id or name, as linked in sites.<site>.iksClusters. */
  cluster: string;
  pool: string;
  change: { kind: 'resize'; sizePerZone: number } | { kind: 'add-zone'; zone: string; privateVlan?: string; publicVlan?: string };
  requireApproval?: boolean;
  planOnly?: boolean;
}

export interface ExpandIksResult {
  status: 'complete';
  cluster: string;
  pool: string;
  change: string;
  workers: { before: number; after: number };
  /** The cluster's etcd record (master, state, the provider's backup policy) before and after. */
  etcd: { before: IksRecord; after: IksRecord };
  approvedBy?: string;
}

const describe = (c: ExpandIksInput['change'], from: { sizePerZone: number }): string =>
  c.kind === 'resize' ? `resize from ${from.sizePerZone} to ${c.sizePerZone} worker(s) per zone` : `add zone ${c.zone} (${from.sizePerZone} worker(s))`;

/**
 * An IKS worker pool grows — resized, or spread to one more zone — then the run waits until every
 * worker of the pool in every zone is deployed and healthy. Pre-checks: cluster normal, master
 * healthy, pool settled, and the app owners' app-data acknowledgement fresh (else an approval that
 * names it). The etcd record is taken before and after. On a failure or a cancel the pool is put
 * back (resized back, or the zone removed) and waited for, and the run fails ScaleOutRolledBack.
 */
export async function expandIks(input: ExpandIksInput): Promise<ExpandIksResult | ScaleOutPlanResult> {
  upsertSearchAttributes([
    { key: SddcSite, value: input.site },
    { key: SddcOperation, value: input.change.kind === 'resize' ? 'scale-out-iks-resize' : 'scale-out-iks-add-zone' },
  ]);
  const state = scaleOutState(`IKS ${input.cluster}, pool ${input.pool}: ${input.change.kind === 'resize' ? `${input.change.sizePerZone} per zone` : `add zone ${input.change.zone}`}`);
  const { config, ibm } = await loadSite(input.site, 'The IKS scale-out');
  const cluster = config.iksClusters.find((c) => c.id === input.cluster || c.name === input.cluster);
  if (!cluster) {
    throw ApplicationFailure.create({ type: 'BadConfig', nonRetryable: true, message: `cluster ${input.cluster} is not linked to site ${input.site} (sites.${input.site}.iksClusters: ${config.iksClusters.map((c) => c.name ?? c.id).join(', ') || 'none'})` });
  }
  if (!ibm) throw ApplicationFailure.create({ type: 'BadConfig', nonRetryable: true, message: 'ibmCloud is not set in the config: give ibmCloud.apiKey (a secret reference)' });
  const target = { ibm, cluster, pool: input.pool };
  const pre = await precheck(() =>
    steps.precheckIksChange.executeWithOptions({ summary: `Pre-check: cluster ${input.cluster} normal, master healthy, pool ${input.pool} settled; app-data acknowledgement` }, [
      { ...target, change: input.change, target: config.backupTarget },
    ]),
  );
  const change = describe(input.change, pre.pool);
  const maxAge = parseDuration(config.appData.maxAgeBeforeChange);
  const ackAge = pre.ack ? workflowInfo().runStartTime.getTime() - Date.parse(pre.ack.at) : undefined;
  const approvalNeeded =
    ackAge === undefined
      ? `the app owners of ${pre.clusterName} have never acknowledged that their application data is backed up`
      : ackAge > maxAge
        ? `the app owners' acknowledgement (by ${pre.ack!.acknowledgedBy} at ${pre.ack!.at}) is older than appData.maxAgeBeforeChange (${config.appData.maxAgeBeforeChange})`
        : undefined;

  // The wait looks at the pool once per attempt; the retry policy paces the looks (no thread held for the tens of minutes IKS takes).
  const pollInterval = parseDuration(ibm.workerPool.pollInterval);
  const poolWait = proxyActivities<typeof activities>({
    startToCloseTimeout: '2m',
    scheduleToCloseTimeout: parseDuration(ibm.workerPool.timeout),
    retry: { initialInterval: pollInterval, backoffCoefficient: 1, maximumInterval: pollInterval, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
  });
  const poolId = pre.pool.id;
  const settle = (summary: string) => poolWait.awaitWorkerPool.executeWithOptions({ summary }, [{ ...target, pool: poolId }]);
  const back: PoolChange = input.change.kind === 'resize' ? { kind: 'resize', sizePerZone: pre.pool.sizePerZone } : { kind: 'remove-zone', zone: input.change.zone };
  const backText = back.kind === 'resize' ? `resize back to ${back.sizePerZone} worker(s) per zone` : `remove zone ${back.zone}`;
  const list: SagaStep[] = [
    {
      name: `${change} in pool ${pre.pool.name}, and wait for every worker`,
      undo: `${backText}, and wait for the pool`,
      compensate: async () => {
        await undo.changeWorkerPool.executeWithOptions({ summary: `Undo: ${backText} (pool ${pre.pool.name})` }, [{ ...target, pool: poolId, change: back }]);
        await settle(`Undo: wait for pool ${pre.pool.name} to settle`);
      },
      run: async () => {
        const r = await steps.changeWorkerPool.executeWithOptions({ summary: `${change} (pool ${pre.pool.name})` }, [{ ...target, pool: poolId, change: input.change }]);
        const { workers } = await settle(`Wait until all ${pre.workersAfter} workers of pool ${pre.pool.name} are deployed and healthy`);
        return `${r.how === 'already-so' ? 'already so' : 'requested'}; ${workers} workers ready`;
      },
    },
  ];
  state.update({
    plan: { iks: { cluster: pre.clusterName, pool: pre.pool.name, change, workers: { before: pre.workersBefore, after: pre.workersAfter }, ...(pre.ack ? { ack: { by: pre.ack.acknowledgedBy, at: pre.ack.at, setId: pre.ack.setId } } : {}) }, ...(approvalNeeded ? { approvalNeeded } : {}) },
    steps: list.map((s) => ({ name: s.name, undo: s.undo, status: 'pending' })),
  });
  if (input.planOnly) return planResult(state);
  await approvalGate(input, state);

  const etcdBefore = await steps.iksEtcdRecord.executeWithOptions({ summary: `etcd record of ${pre.clusterName} before the change` }, [{ ibm, cluster }]);
  let etcdAfter: IksRecord | undefined;
  await runSaga(`the change to pool ${pre.pool.name} of ${pre.clusterName}`, state, list, async () => {
    etcdAfter = await steps.iksEtcdRecord.executeWithOptions({ summary: `Post-check: etcd record of ${pre.clusterName} after the change` }, [{ ibm, cluster }]);
    if (etcdAfter.masterHealth !== 'normal' || etcdAfter.state !== 'normal') {
      throw ApplicationFailure.create({ type: 'ScaleOutPostcheckFailed', nonRetryable: true, message: `post-check: cluster ${pre.clusterName} is ${etcdAfter.state}, master ${etcdAfter.masterHealth}` });
    }
  });
  const approvedBy = state.approvedBy();
  return {
    status: 'complete',
    cluster: pre.clusterName,
    pool: pre.pool.name,
    change,
    workers: { before: pre.workersBefore, after: pre.workersAfter },
    etcd: { before: etcdBefore, after: etcdAfter! },
    ...(approvedBy ? { approvedBy } : {}),
  };
}
