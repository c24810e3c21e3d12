import { upsertSearchAttributes } from '@temporalio/workflow';
import { SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import { capacityOf } from './capacity.js';
import { approvalGate, postCheck, preChangeBackup, planResult, runSaga, scaleOutState, type ScaleOutPlanResult, scaleOutSite, type ScaleOutResult, type ScaleOutCommon } from './common.js';

export { approveUpdate, scaleOutProgressQuery, type ScaleOutProgress } from './common.js';

export interface AddHostsInput extends ScaleOutCommon {
  cluster: string;
}

export type AddHostsResult = ScaleOutResult;

/**
 * New hosts in an existing cluster — joined over SOAP, or ordered from IBM (the site's capacity
 * provider) — then the HA admission-control reservation recomputed — as a saga: every step registers its undo before it acts; on a failure or a cancel the undos run in
 * reverse, not cancellable, and the run fails ScaleOutRolledBack with what was undone.
 */
export async function addHosts(input: AddHostsInput): Promise<AddHostsResult | ScaleOutPlanResult> {
  upsertSearchAttributes([
    { key: SddcSite, value: input.site },
    { key: SddcOperation, value: 'scale-out-add-hosts' },
  ]);
  const state = scaleOutState(`Add ${input.hosts.length} host(s) to cluster ${input.cluster}`);
  const site = await scaleOutSite(input.site);
  const p = await capacityOf(site).orderHosts(input);
  state.update({ plan: p.plan, steps: p.steps.map((s) => ({ name: s.name, undo: s.undo, status: 'pending' })) });

  if (input.planOnly) return planResult(state);
  await approvalGate(input, state);
  const backup = await preChangeBackup(input, state);
  await runSaga(`adding hosts to ${input.cluster}`, state, p.steps, () => postCheck(site.config.vcenter, input.cluster, p.hosts().map((name) => ({ name })), p.ha.after));
  const approvedBy = state.approvedBy();
  return { status: 'complete', cluster: input.cluster, added: p.hosts(), ha: p.ha, backup, ...(p.order ? { order: p.order } : {}), ...(approvedBy ? { approvedBy } : {}) };
}
