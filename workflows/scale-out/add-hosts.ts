import { upsertSearchAttributes } from '@temporalio/workflow';
import { planHa } from '../../src/domain/ha-admission.js';
import { SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import { approvalGate, precheck, hostSteps, postCheck, preChangeBackup, planResult, runSaga, scaleOutState, steps, type ScaleOutPlanResult, scaleOutSite, type ScaleOutResult, type ScaleOutCommon } from './common.js';

export { approveUpdate, scaleOutProgressQuery, type ScaleOutProgress } from './common.js';

export interface AddHostsInput extends ScaleOutCommon {
  cluster: string;
}

export type AddHostsResult = ScaleOutResult;

/**
 * New hosts in an existing cluster, then the HA admission-control reservation recomputed — as a
 * saga: every step registers its undo before it acts; on a failure or a cancel the undos run in
 * reverse, not cancellable, and the run fails ScaleOutRolledBack with what was undone.
 */
export async function addHosts(input: AddHostsInput): Promise<AddHostsResult | ScaleOutPlanResult> {
  upsertSearchAttributes([
    { key: SddcSite, value: input.site },
    { key: SddcOperation, value: 'scale-out-add-hosts' },
  ]);
  const state = scaleOutState(`Add ${input.hosts.length} host(s) to cluster ${input.cluster}`);
  const { config, login } = await scaleOutSite(input.site);
  const pre = await precheck(() =>
    steps.precheckAddHosts.executeWithOptions({ summary: `Pre-check: cluster ${input.cluster}, ${input.hosts.length} new host(s), thumbprints` }, [
      { vcenter: config.vcenter, scaleOut: login, cluster: input.cluster, hosts: input.hosts },
    ]),
  );
  const ha = planHa(pre.haBefore, pre.hostsBefore + pre.hosts.length);
  const list = hostSteps({ vcenter: config.vcenter, login, cluster: input.cluster, hosts: pre.hosts, ha });
  state.update({ plan: { hosts: pre.hosts, ha }, steps: list.map((s) => ({ name: s.name, undo: s.undo, status: 'pending' })) });

  if (input.planOnly) return planResult(state);
  await approvalGate(input, state);
  const backup = await preChangeBackup(input, state);
  await runSaga(`adding hosts to ${input.cluster}`, state, list, () => postCheck(config.vcenter, input.cluster, pre.hosts, ha.after));
  const approvedBy = state.approvedBy();
  return { status: 'complete', cluster: input.cluster, added: pre.hosts.map((h) => h.name), ha, backup, ...(approvedBy ? { approvedBy } : {}) };
}
