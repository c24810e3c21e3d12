import type { HaPlan } from '../../src/domain/ha-admission.js';
import type { CapacityOrder, SagaStep, ScaleOutPlan, ScaleOutSiteConfig } from './common.js';
import { ibmVmwareSolutions } from './capacity-ibm.js';
import { vcenterDirect } from './capacity-vcenter-direct.js';
import type { AddHostsInput } from './add-hosts.js';
import type { AddClusterInput } from './add-cluster.js';

/** The site as a scale-out run reads it (config, capacity provider, IBM access, host login). */
export type ScaleOutSite = ScaleOutSiteConfig;

/**
 * What a capacity provider plans for one operation, after its read-only pre-checks: the saga steps
 * (each with its undo — how the provider removes what it added), what the plan shows (hosts, price,
 * HA before → after, why it needs an approval), and what the post-check expects.
 */
export interface CapacityPlan {
  steps: SagaStep[];
  plan: ScaleOutPlan;
  ha: HaPlan;
  order?: CapacityOrder;
  /** The hosts the post-check must find connected in the cluster; a provider that names them itself knows them only once its steps ran. */
  hosts: () => string[];
}

/**
 * Where new capacity comes from, chosen per site by `sites.<site>.capacity`: `vcenter-direct`
 * (hosts racked and installed; sddc-ops joins them over SOAP) or `ibm-vmware-solutions` (ordered;
 * IBM's automation joins them). Both give addHosts and addCluster the same shape: plan →
 * approval → pre-change backup → steps → post-check. A new site is ordered only from IBM
 * (addSite); removal and status live in each provider's undos and waits.
 */
export interface CapacityProvider {
  orderHosts(input: AddHostsInput): Promise<CapacityPlan>;
  orderCluster(input: AddClusterInput): Promise<CapacityPlan>;
}

/** The site's capacity provider. */
export function capacityOf(site: ScaleOutSite): CapacityProvider {
  const { capacity } = site;
  return capacity.provider === 'ibm-vmware-solutions' ? ibmVmwareSolutions({ ...site, capacity }) : vcenterDirect(site);
}
