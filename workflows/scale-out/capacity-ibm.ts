import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import type { IbmOrderPlan } from '../../activities/scale-out/capacity-ibm.js';
import type { IbmCloudConfig, VcenterConfig } from '../../src/config/schema.js';
import { parseDuration } from '../../src/domain/duration.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import { DEFAULT_NEW_CLUSTER, newClusterHa, planHa } from '../../src/domain/ha-admission.js';
import { haStep, precheck, steps, undo, type CapacityOrder, type SagaStep } from './common.js';
import type { CapacityProvider, ScaleOutSite } from './capacity.js';

/** Orders take hours: each look is one activity attempt, paced by the retry policy (no worker thread held meanwhile). */
function pacedActivities(ibm: IbmCloudConfig) {
  const every = parseDuration(ibm.orders.pollInterval);
  return proxyActivities<typeof activities>({
    startToCloseTimeout: '2m',
    scheduleToCloseTimeout: parseDuration(ibm.orders.timeout),
    retry: { initialInterval: every, backoffCoefficient: 1, maximumInterval: every, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
  });
}

const priced = (o: CapacityOrder) => `an order from IBM Cloud: ${o.price ? `${o.price.total_monthly} ${o.price.currency} a month` : 'IBM quoted no price'}`;

/**
 * ibm-vmware-solutions: capacity is ordered from IBM Cloud for VMware Solutions — priced at the
 * plan and always approved (it costs money); IBM's automation joins the hosts to vCenter, which
 * the run checks through SOAP before it sets the HA reservation. Undo: remove through IBM what
 * this run ordered.
 */
export function ibmVmwareSolutions(site: Omit<ScaleOutSite, 'capacity'> & { capacity: { provider: 'ibm-vmware-solutions'; instanceId: string } }): CapacityProvider {
  const { config, capacity } = site;
  const ibm = site.ibm!;
  return {
    async orderHosts(input) {
      const pre = await precheck(() =>
        steps.precheckAddHosts.executeWithOptions({ summary: `Pre-check: cluster ${input.cluster}, ${input.hosts.length} new host(s)` }, [
          { vcenter: config.vcenter, cluster: input.cluster, hosts: input.hosts, ordered: true },
        ]),
      );
      const ha = planHa(pre.haBefore, pre.hostsBefore + pre.hosts.length);
      const target = { ibm, instanceId: capacity.instanceId, cluster: input.cluster };
      const plan = await precheck(() =>
        steps.precheckIbmOrder.executeWithOptions({ summary: `Pre-check: verify the order of ${input.hosts.length} host(s) with IBM Cloud, and its price` }, [{ ...target, hosts: input.hosts.map((h) => h.name) }]),
      );
      const order: CapacityOrder = { provider: capacity.provider, instance: plan.instance.name, ...(plan.price ? { price: plan.price } : {}) };
      return {
        steps: [ibmOrderStep({ ...target, vcenter: config.vcenter, plan, hosts: pre.hosts.map((h) => h.name) }), ...haStep({ vcenter: config.vcenter, cluster: input.cluster, ha })],
        plan: { hosts: pre.hosts, ha, order, approvalNeeded: priced(order) },
        ha,
        order,
        hosts: () => pre.hosts.map((h) => h.name),
      };
    },

    async orderCluster(input) {
      if (input.hosts.length) throw ApplicationFailure.create({ type: 'BadRequest', nonRetryable: true, message: `site ${input.site} orders its capacity from IBM, which names the hosts of a new cluster: give --host-count N instead of --host` });
      const quantity = input.hostCount ?? 0;
      if (quantity < 2) throw ApplicationFailure.create({ type: 'BadRequest', nonRetryable: true, message: 'IBM builds a cluster of at least 2 hosts: give --host-count N' });
      await precheck(() => steps.precheckAddCluster.executeWithOptions({ summary: `Pre-check: no cluster ${input.name} in vCenter` }, [{ vcenter: config.vcenter, name: input.name, hosts: [] }]));
      const target = { ibm, instanceId: capacity.instanceId, name: input.name };
      const ibmPlan = await precheck(() =>
        steps.precheckIbmCluster.executeWithOptions({ summary: `Pre-check: IBM verifies and prices cluster ${input.name} of ${quantity} hosts` }, [{ ...target, quantity }]),
      );
      const order: CapacityOrder = { provider: capacity.provider, instance: ibmPlan.instance.name, ...(ibmPlan.price ? { price: ibmPlan.price } : {}) };
      const nc = site.scaleOut?.newCluster ?? DEFAULT_NEW_CLUSTER;
      const created = newClusterHa(nc, quantity);
      const ha = planHa(created, quantity);
      const paced = pacedActivities(ibm);
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
            await joined(config.vcenter, input.name, hosts, `IBM reports cluster ${input.name} Available`);
            return `${r.how === 'already-ordered' ? 'ordered before (a retry)' : 'ordered'}; hosts ${hosts.join(', ')}`;
          },
        },
        {
          name: `HA admission control of ${input.name}: ${created.policy.kind === 'resources' ? `${created.policy.cpuPercent}%` : ''} for ${nc.hostFailuresToTolerate} host failure(s) of ${quantity} hosts`,
          undo: 'nothing to undo: the cluster goes with the order\'s undo',
          run: () => steps.setClusterHa.executeWithOptions({ summary: `HA admission control of ${input.name}` }, [{ vcenter: config.vcenter, cluster: input.name, ha: created }]),
        },
      ];
      return { steps: list, plan: { order, ha, approvalNeeded: priced(order) }, ha, order, hosts: () => hosts };
    },
  };
}

/** IBM's automation joined the hosts to the vCenter cluster: checked through SOAP, not taken on IBM's word. */
async function joined(vcenter: VcenterConfig, cluster: string, hosts: string[], ibmSays: string): Promise<void> {
  const inv = await steps.scaleOutInventory.executeWithOptions({ summary: `Check through SOAP that ${hosts.join(', ')} joined ${cluster}` }, [{ vcenter }]);
  const missing = hosts.filter((h) => !inv.hosts.some((x) => x.name.toLowerCase() === h.toLowerCase() && x.cluster === cluster));
  if (missing.length) throw ApplicationFailure.create({ type: 'CapacityOrderFailed', nonRetryable: true, message: `${ibmSays}, but ${missing.join(', ')} did not join vCenter cluster ${cluster}` });
}

/**
 * Ordering hosts from IBM Cloud for VMware Solutions, as one saga step: order (a busy instance is
 * waited for), wait until the instance is Available with the hosts, then check through SOAP that
 * IBM's automation joined them to the vCenter cluster. Undo: remove the hosts of this order
 * through IBM, and wait until they are gone. Orders take hours: each look is one activity
 * attempt, paced by the retry policy, so no worker thread is held meanwhile.
 */
function ibmOrderStep(o: { ibm: IbmCloudConfig; instanceId: string; vcenter: VcenterConfig; cluster: string; plan: IbmOrderPlan; hosts: string[] }): SagaStep {
  const paced = pacedActivities(o.ibm);
  const t = { ibm: o.ibm, instanceId: o.instanceId, cluster: o.cluster, clusterId: o.plan.clusterId, hostNames: o.plan.hostNames };
  const names = o.plan.hostNames.join(', ');
  return {
    name: `order ${o.hosts.length} host(s) from IBM Cloud for ${o.cluster} (${names}) and wait until they join vCenter`,
    undo: `remove ${names} through IBM Cloud, and wait until they are gone`,
    compensate: async () => {
      await paced.removeIbmHosts.executeWithOptions({ summary: `Undo: remove ${names} through IBM Cloud` }, [t]);
      await paced.awaitIbmOrder.executeWithOptions({ summary: `Undo: wait until ${names} are gone` }, [{ ...t, want: 'absent' }]);
    },
    run: async () => {
      const r = await paced.orderIbmHosts.executeWithOptions({ summary: `Order ${names} from IBM Cloud (${o.plan.price ? `${o.plan.price.total_monthly} ${o.plan.price.currency}/month` : 'price not quoted'})` }, [t]);
      await paced.awaitIbmOrder.executeWithOptions({ summary: `Wait until IBM reports ${names} Available` }, [{ ...t, want: 'present' }]);
      await joined(o.vcenter, o.cluster, o.hosts, `IBM reports ${names} Available`);
      return r.how === 'already-ordered' ? 'ordered before (a retry)' : 'ordered; joined vCenter';
    },
  };
}
