import { upsertSearchAttributes } from '@temporalio/workflow';
import { planHa } from '../../src/domain/ha-admission.js';
import { SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import { ibmOrderStep } from './order-ibm.js';
import { approvalGate, haStep, precheck, type CapacityOrder, type SagaStep, hostSteps, postCheck, preChangeBackup, planResult, runSaga, scaleOutState, steps, type ScaleOutPlanResult, scaleOutSite, type ScaleOutResult, type ScaleOutCommon } from './common.js';

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
  const { config, capacity, ibm, login } = await scaleOutSite(input.site);
  const ordered = capacity.provider === 'ibm-vmware-solutions';
  const pre = await precheck(() =>
    steps.precheckAddHosts.executeWithOptions({ summary: `Pre-check: cluster ${input.cluster}, ${input.hosts.length} new host(s)${ordered ? '' : ', thumbprints'}` }, [
      { vcenter: config.vcenter, scaleOut: login, cluster: input.cluster, hosts: input.hosts, ordered },
    ]),
  );
  const ha = planHa(pre.haBefore, pre.hostsBefore + pre.hosts.length);
  let list: SagaStep[];
  let order: CapacityOrder | undefined;
  if (capacity.provider === 'ibm-vmware-solutions') {
    // Capacity is ordered: IBM prices the order first, and the price is approved with the plan.
    const target = { ibm: ibm!, instanceId: capacity.instanceId, cluster: input.cluster };
    const plan = await precheck(() =>
      steps.precheckIbmOrder.executeWithOptions({ summary: `Pre-check: verify the order of ${input.hosts.length} host(s) with IBM Cloud, and its price` }, [{ ...target, hosts: input.hosts.map((h) => h.name) }]),
    );
    order = { provider: capacity.provider, instance: plan.instance.name, ...(plan.price ? { price: plan.price } : {}) };
    list = [ibmOrderStep({ ...target, vcenter: config.vcenter, plan, hosts: pre.hosts.map((h) => h.name) }), ...haStep({ vcenter: config.vcenter, cluster: input.cluster, ha })];
  } else {
    list = hostSteps({ vcenter: config.vcenter, login: login!, cluster: input.cluster, hosts: pre.hosts, ha });
  }
  state.update({
    plan: { hosts: pre.hosts, ha, ...(order ? { order, approvalNeeded: `an order from IBM Cloud: ${order.price ? `${order.price.total_monthly} ${order.price.currency} a month` : 'IBM quoted no price'}` } : {}) },
    steps: list.map((s) => ({ name: s.name, undo: s.undo, status: 'pending' })),
  });

  if (input.planOnly) return planResult(state);
  await approvalGate(input, state);
  const backup = await preChangeBackup(input, state);
  await runSaga(`adding hosts to ${input.cluster}`, state, list, () => postCheck(config.vcenter, input.cluster, pre.hosts, ha.after));
  const approvedBy = state.approvedBy();
  return { status: 'complete', cluster: input.cluster, added: pre.hosts.map((h) => h.name), ha, backup, ...(order ? { order } : {}), ...(approvedBy ? { approvedBy } : {}) };
}
