import { ApplicationFailure, proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import { parseDuration } from '../../src/domain/duration.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import { DEFAULT_NEW_CLUSTER, newClusterHa, planHa } from '../../src/domain/ha-admission.js';
import { SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import { approvalGate, type CapacityOrder, type SagaStep, type ScaleOutState, precheck, hostSteps, postCheck, preChangeBackup, planResult, runSaga, scaleOutState, steps, type ScaleOutPlanResult, scaleOutSite, type ScaleOutResult, undo, type ScaleOutCommon } from './common.js';

export interface AddClusterInput extends ScaleOutCommon {
  /** The new cluster's name. */
  name: string;
  /** Capacity ordered from IBM: how many hosts (IBM names them; `hosts` is not used). */
  hostCount?: number;
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
  const state = scaleOutState(`New cluster ${input.name} with ${input.hostCount ?? input.hosts.length} host(s)`);
  const site = await scaleOutSite(input.site);
  if (site.capacity.provider === 'ibm-vmware-solutions') return orderedCluster(input, state, { ...site, capacity: site.capacity });
  const { config, scaleOut, login } = site;
  if (!scaleOut || !login) throw ApplicationFailure.create({ type: 'BadConfig', nonRetryable: true, message: `sites.${input.site}.scaleOut is not set` });
  if (!input.hosts.length) throw ApplicationFailure.create({ type: 'BadRequest', nonRetryable: true, message: 'a new cluster needs at least one host (--host NAME[=THUMBPRINT])' });
  const nc = scaleOut.newCluster;
  const pre = await precheck(() =>
    steps.precheckAddCluster.executeWithOptions({ summary: `Pre-check: new cluster ${input.name}, ${input.hosts.length} host(s), thumbprints` }, [
      { vcenter: config.vcenter, scaleOut: login, name: input.name, hosts: input.hosts },
    ]),
  );
  // Created with the reservation its hosts will need, so the host steps find nothing to recompute.
  const created = newClusterHa(nc, pre.hosts.length);
  const pct = created.policy.kind === 'resources' ? created.policy.cpuPercent : 0;
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

/**
 * A cluster ordered from IBM Cloud for VMware Solutions: priced at the plan and approved; IBM builds
 * it and its hosts and joins them to vCenter; the run checks that through SOAP, then sets the HA
 * reservation for its hosts. Undo: delete the cluster through IBM (only the one this run ordered:
 * the pre-check saw no cluster of that name).
 */
type OrderedSite = Omit<Awaited<ReturnType<typeof scaleOutSite>>, 'capacity'> & { capacity: { provider: 'ibm-vmware-solutions'; instanceId: string } };
async function orderedCluster(input: AddClusterInput, state: ScaleOutState, site: OrderedSite): Promise<AddClusterResult | ScaleOutPlanResult> {
  const { config, ibm, capacity } = site;
  if (input.hosts.length) throw ApplicationFailure.create({ type: 'BadRequest', nonRetryable: true, message: `site ${input.site} orders its capacity from IBM, which names the hosts of a new cluster: give --host-count N instead of --host` });
  const quantity = input.hostCount ?? 0;
  if (quantity < 2) throw ApplicationFailure.create({ type: 'BadRequest', nonRetryable: true, message: 'IBM builds a cluster of at least 2 hosts: give --host-count N' });
  await precheck(() =>
    steps.precheckAddCluster.executeWithOptions({ summary: `Pre-check: no cluster ${input.name} in vCenter` }, [{ vcenter: config.vcenter, name: input.name, hosts: [] }]),
  );
  const target = { ibm: ibm!, instanceId: capacity.instanceId, name: input.name };
  const ibmPlan = await precheck(() =>
    steps.precheckIbmCluster.executeWithOptions({ summary: `Pre-check: IBM verifies and prices cluster ${input.name} of ${quantity} hosts` }, [{ ...target, quantity }]),
  );
  const order: CapacityOrder = { provider: capacity.provider, instance: ibmPlan.instance.name, ...(ibmPlan.price ? { price: ibmPlan.price } : {}) };
  const nc = site.scaleOut?.newCluster ?? DEFAULT_NEW_CLUSTER;
  const created = newClusterHa(nc, quantity);
  const ha = planHa(created, quantity);
  const every = parseDuration(ibm!.orders.pollInterval);
  const paced = proxyActivities<typeof activities>({
    startToCloseTimeout: '2m',
    scheduleToCloseTimeout: parseDuration(ibm!.orders.timeout),
    retry: { initialInterval: every, backoffCoefficient: 1, maximumInterval: every, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
  });
  let hosts: string[] = [];
  const list: SagaStep[] = [
    {
      name: `order cluster ${input.name} of ${quantity} hosts from IBM Cloud and wait until its hosts join vCenter`,
      undo: `delete cluster ${input.name} through IBM Cloud, and wait until it is gone`,
      compensate: async () => {
        await paced.deleteIbmCluster.executeWithOptions({ summary: `Undo: delete cluster ${input.name} through IBM Cloud` }, [target]);
        await paced.awaitIbmCluster.executeWithOptions({ summary: `Undo: wait until cluster ${input.name} is gone` }, [{ ...target, want: 'absent' }]);
      },
      run: async () => {
        const r = await paced.orderIbmCluster.executeWithOptions({ summary: `Order cluster ${input.name} from IBM Cloud` }, [{ ...target, location: ibmPlan.location, quantity }]);
        hosts = (await paced.awaitIbmCluster.executeWithOptions({ summary: `Wait until IBM reports cluster ${input.name} Available` }, [{ ...target, want: 'present' }])).hosts;
        const inv = await steps.scaleOutInventory.executeWithOptions({ summary: `Check through SOAP that the hosts of ${input.name} joined it` }, [{ vcenter: config.vcenter }]);
        const missing = hosts.filter((h) => !inv.hosts.some((x) => x.name.toLowerCase() === h.toLowerCase() && x.cluster === input.name));
        if (missing.length) throw ApplicationFailure.create({ type: 'CapacityOrderFailed', nonRetryable: true, message: `IBM reports cluster ${input.name} Available, but ${missing.join(', ')} did not join it in vCenter` });
        return `${r.how === 'already-ordered' ? 'ordered before (a retry)' : 'ordered'}; hosts ${hosts.join(', ')}`;
      },
    },
    {
      name: `HA admission control of ${input.name}: ${ha.after.policy.kind === 'resources' ? `${ha.after.policy.cpuPercent}%` : ''} for ${nc.hostFailuresToTolerate} host failure(s) of ${quantity} hosts`,
      undo: 'nothing to undo: the cluster goes with the order\'s undo',
      run: () => steps.setClusterHa.executeWithOptions({ summary: `HA admission control of ${input.name}` }, [{ vcenter: config.vcenter, cluster: input.name, ha: created }]),
    },
  ];
  state.update({
    plan: { order, ha, approvalNeeded: `an order from IBM Cloud: ${order.price ? `${order.price.total_monthly} ${order.price.currency} a month` : 'IBM quoted no price'}` },
    steps: list.map((s) => ({ name: s.name, undo: s.undo, status: 'pending' })),
  });
  if (input.planOnly) return planResult(state);
  await approvalGate(input, state);
  const backup = await preChangeBackup(input, state);
  await runSaga(`adding cluster ${input.name}`, state, list, () => postCheck(config.vcenter, input.name, hosts.map((name) => ({ name })), created));
  const approvedBy = state.approvedBy();
  return { status: 'complete', cluster: input.name, added: hosts, ha, backup, order, ...(approvedBy ? { approvedBy } : {}) };
}
