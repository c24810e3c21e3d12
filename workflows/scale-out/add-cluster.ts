import { upsertSearchAttributes } from '@temporalio/workflow';
import { SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import { capacityOf } from './capacity.js';
import { approvalGate, postCheck, preChangeBackup, planResult, runSaga, scaleOutState, type ScaleOutPlanResult, scaleOutSite, type ScaleOutResult, type ScaleOutCommon } from './common.js';

export interface AddClusterInput extends ScaleOutCommon {
  /** The new cluster's name. */
  name: string;
  /** Capacity ordered from IBM: how many hosts (IBM names them; `hosts` is not used). */
  hostCount?: number;
}

export type AddClusterResult = ScaleOutResult;

/**
 * A new cluster with the HA and DRS settings of sites.<site>.scaleOut.newCluster — created and its
 * hosts joined over SOAP, or ordered from IBM (the site's capacity provider) — as one saga: on a
 * failure or a cancel the hosts leave and the cluster goes, and the run fails ScaleOutRolledBack
 * with what was undone.
 */
export async function addCluster(input: AddClusterInput): Promise<AddClusterResult | ScaleOutPlanResult> {
  upsertSearchAttributes([
    { key: SddcSite, value: input.site },
    { key: SddcOperation, value: 'scale-out-add-cluster' },
  ]);
  const state = scaleOutState(`New cluster ${input.name} with ${input.hostCount ?? input.hosts.length} host(s)`);
  const site = await scaleOutSite(input.site);
  const p = await capacityOf(site).orderCluster(input);
  state.update({ plan: p.plan, steps: p.steps.map((s) => ({ name: s.name, undo: s.undo, status: 'pending' })) });

  if (input.planOnly) return planResult(state);
  await approvalGate(input, state);
  const backup = await preChangeBackup(input, state);
  await runSaga(`adding cluster ${input.name}`, state, p.steps, () => postCheck(site.config.vcenter, input.name, p.hosts().map((name) => ({ name })), p.ha.after));
  const approvedBy = state.approvedBy();
  return { status: 'complete', cluster: input.name, added: p.hosts(), ha: p.ha, backup, ...(p.order ? { order: p.order } : {}), ...(approvedBy ? { approvedBy } : {}) };
}
