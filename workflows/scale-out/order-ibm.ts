import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import type { IbmOrderPlan } from '../../activities/scale-out/capacity-ibm.js';
import type { IbmCloudConfig, VcenterConfig } from '../../src/config/schema.js';
import { parseDuration } from '../../src/domain/duration.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import { steps, undo, type SagaStep } from './common.js';

/**
 * Ordering hosts from IBM Cloud for VMware Solutions, as one saga step: order (a busy instance is
 * waited for), wait until the instance is Available with the hosts, then check through SOAP that
 * IBM's automation joined them to the vCenter cluster. Undo: remove the hosts of this order
 * through IBM, and wait until they are gone. Orders take hours: each look is one activity
 * attempt, paced by the retry policy, so no worker thread is held meanwhile.
 */
export function ibmOrderStep(o: { ibm: IbmCloudConfig; instanceId: string; vcenter: VcenterConfig; cluster: string; plan: IbmOrderPlan; hosts: string[] }): SagaStep {
  const every = parseDuration(o.ibm.orders.pollInterval);
  const paced = proxyActivities<typeof activities>({
    startToCloseTimeout: '2m',
    scheduleToCloseTimeout: parseDuration(o.ibm.orders.timeout),
    retry: { initialInterval: every, backoffCoefficient: 1, maximumInterval: every, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
  });
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
      const inv = await steps.scaleOutInventory.executeWithOptions({ summary: `Check through SOAP that ${names} joined ${o.cluster}` }, [{ vcenter: o.vcenter }]);
      const missing = o.hosts.filter((h) => !inv.hosts.some((x) => x.name.toLowerCase() === h.toLowerCase() && x.cluster === o.cluster));
      if (missing.length) {
        throw ApplicationFailure.create({ type: 'CapacityOrderFailed', nonRetryable: true, message: `IBM reports ${names} Available, but ${missing.join(', ')} did not join vCenter cluster ${o.cluster}` });
      }
      return r.how === 'already-ordered' ? 'ordered before (a retry)' : 'ordered; joined vCenter';
    },
  };
}
