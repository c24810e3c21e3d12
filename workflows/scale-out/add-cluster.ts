import { ApplicationFailure, upsertSearchAttributes } from '@temporalio/workflow';
import { planHa, reservePercent, type HaSettings } from '../../src/domain/ha-admission.js';
import { SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import { approvalGate, precheck, hostSteps, postCheck, preChangeBackup, planResult, runSaga, scaleOutState, steps, type ScaleOutPlanResult, scaleOutSite, type ScaleOutResult, undo, type ScaleOutCommon } from './common.js';

export interface AddClusterInput extends ScaleOutCommon {
  /** The new cluster's name. */
  name: string;
}

export type AddClusterResult = ScaleOutResult;

/**
 * A new cluster with the HA and DRS settings of sites.<site>.scaleOut.newCluster, then its hosts
 * through the same steps as addHosts — one saga: on a failure or a cancel the hosts leave and the
 * cluster is removed, and the run fails ScaleOutRolledBack with what was undone.
 */
export async function addCluster(input: AddClusterInput): Promise<AddClusterResult | ScaleOutPlanResult> {
  upsertSearchAttributes([
    { key: SddcSite, value: input.site },
    { key: SddcOperation, value: 'scale-out-add-cluster' },
  ]);
  const state = scaleOutState(`New cluster ${input.name} with ${input.hosts.length} host(s)`);
  const site = await scaleOutSite(input.site);
  if (!site.login || !site.scaleOut) {
    throw ApplicationFailure.create({ type: 'BadRequest', nonRetryable: true, message: `site ${input.site} orders its capacity from IBM Cloud for VMware Solutions; ordering a new cluster there is not built yet — add the cluster in the IBM Cloud console, then its hosts with scale-out add-hosts` });
  }
  const { config, scaleOut, login } = site;
  if (!input.hosts.length) throw ApplicationFailure.create({ type: 'BadRequest', nonRetryable: true, message: 'a new cluster needs at least one host (--host NAME[=THUMBPRINT])' });
  const nc = scaleOut.newCluster;
  const pre = await precheck(() =>
    steps.precheckAddCluster.executeWithOptions({ summary: `Pre-check: new cluster ${input.name}, ${input.hosts.length} host(s), thumbprints` }, [
      { vcenter: config.vcenter, scaleOut: login, name: input.name, hosts: input.hosts },
    ]),
  );
  // Created with the reservation its hosts will need, so the host steps find nothing to recompute.
  const pct = reservePercent(Math.min(nc.hostFailuresToTolerate, pre.hosts.length), pre.hosts.length);
  const created: HaSettings = {
    enabled: nc.haEnabled,
    admissionControlEnabled: nc.haEnabled,
    failoverLevel: nc.hostFailuresToTolerate,
    policy: { kind: 'resources', cpuPercent: pct, memoryPercent: pct, failoverLevel: nc.hostFailuresToTolerate, autoCompute: false },
  };
  const ha = planHa(created, pre.hosts.length);
  const list = [
    {
      name: `create cluster ${input.name}`,
      undo: `remove cluster ${input.name}`,
      compensate: () => undo.destroyClusterIfPresent.executeWithOptions({ summary: `Undo: remove cluster ${input.name}` }, [{ vcenter: config.vcenter, name: input.name }]),
      run: async () =>
        (await steps.createClusterIfAbsent.executeWithOptions({ summary: `Create cluster ${input.name} (HA ${pct}% for ${nc.hostFailuresToTolerate} failure(s), DRS ${nc.drsEnabled ? nc.drsBehavior : 'off'})` }, [
          { vcenter: config.vcenter, folder: pre.folder, name: input.name, ha: created, drs: { enabled: nc.drsEnabled, behavior: nc.drsBehavior } },
        ])).how,
    },
    ...hostSteps({ vcenter: config.vcenter, login, cluster: input.name, hosts: pre.hosts, ha }),
  ];
  state.update({ plan: { hosts: pre.hosts, ha }, steps: list.map((s) => ({ name: s.name, undo: s.undo, status: 'pending' })) });

  if (input.planOnly) return planResult(state);
  await approvalGate(input, state);
  const backup = await preChangeBackup(input, state);
  await runSaga(`adding cluster ${input.name}`, state, list, () => postCheck(config.vcenter, input.name, pre.hosts, ha.after));
  const approvedBy = state.approvedBy();
  return { status: 'complete', cluster: input.name, added: pre.hosts.map((h) => h.name), ha, backup, ...(approvedBy ? { approvedBy } : {}) };
}
