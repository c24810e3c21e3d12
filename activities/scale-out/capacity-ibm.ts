import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { IbmCloudConfig } from '../../src/config/schema.js';
import { InstanceBusyError, VmwareSolutionsClient, type VsClusterDetail } from '../../src/providers/ibm/vmware-solutions.js';
import { iamFor } from '../endpoints.js';
import { guarded, nonRetryable } from '../failures.js';
import { tlsOf } from '../../src/providers/tls.js';

/**
 * The ibm-vmware-solutions capacity provider: hosts are ordered from IBM Cloud for VMware
 * Solutions by name, and IBM's automation joins them to vCenter. Orders are watched by polling
 * the instance (no order id exists); a second change while the instance is changing is refused
 * (409) — a retryable `InstanceBusy` that says so, paced by the workflow's retry policy.
 */
export interface IbmOrderTarget {
  ibm: IbmCloudConfig;
  instanceId: string;
  /** The vCenter cluster's name, which is also its name in IBM's inventory. */
  cluster: string;
}

export interface IbmOrderPlan {
  instance: { id: string; name: string };
  clusterId: string;
  /** IBM's host names: the FQDNs without the instance's root domain. */
  hostNames: string[];
  price?: { total_monthly: string; currency: string };
}

async function client(ibm: IbmCloudConfig): Promise<VmwareSolutionsClient> {
  return new VmwareSolutionsClient({ url: ibm.vmwareSolutionsUrl, iam: await iamFor(ibm), ...tlsOf(ibm) });
}

async function clusterOf(c: VmwareSolutionsClient, t: IbmOrderTarget): Promise<VsClusterDetail> {
  const found = (await c.listClusters(t.instanceId)).find((x) => x.name === t.cluster);
  if (!found) throw nonRetryable('ScaleOutPrecheckFailed', `nothing was changed: instance ${t.instanceId} has no cluster ${t.cluster} in IBM Cloud for VMware Solutions`);
  return c.getCluster(t.instanceId, found.id);
}

function busy(err: unknown): never {
  if (err instanceof InstanceBusyError) {
    throw ApplicationFailure.create({ type: 'InstanceBusy', category: ApplicationFailureCategory.BENIGN, message: `the instance is changing (another order or removal runs): this request waits and is tried again — ${err.detail}` });
  }
  throw err;
}

/** Read-only: the instance and cluster exist, the names fit the instance's domain and are new, and the order verifies — with its price. */
export async function precheckIbmOrder(t: IbmOrderTarget & { hosts: string[] }): Promise<IbmOrderPlan> {
  return guarded(async () => {
    const c = await client(t.ibm);
    const instance = await c.getInstance(t.instanceId);
    const domain = instance.root_domain;
    const problems: string[] = [];
    const hostNames = t.hosts.map((h) => {
      const [short, ...rest] = h.split('.');
      if (domain && rest.length && rest.join('.').toLowerCase() !== domain.toLowerCase()) problems.push(`host ${h} is not in the instance's domain ${domain}`);
      return short!;
    });
    const cluster = await clusterOf(c, t);
    for (const n of hostNames) if (cluster.hosts.some((h) => h.name.hostname === n)) problems.push(`IBM's inventory already has a host ${n} in ${t.cluster}`);
    if (problems.length) throw nonRetryable('ScaleOutPrecheckFailed', `nothing was changed: ${problems.join('; ')}`, { problems });
    const verified = await c.orderHosts(t.instanceId, cluster.id, hostNames, { verify: true });
    return { instance: { id: instance.id, name: instance.name }, clusterId: cluster.id, hostNames, ...(verified.price ? { price: verified.price } : {}) };
  });
}

/** Orders the hosts; an order already placed (a retry, a restarted worker: the names are there) is not placed again. */
export async function orderIbmHosts(t: IbmOrderTarget & { clusterId: string; hostNames: string[] }): Promise<{ how: 'ordered' | 'already-ordered' }> {
  return guarded(async () => {
    const c = await client(t.ibm);
    const there = (await c.getCluster(t.instanceId, t.clusterId)).hosts.map((h) => h.name.hostname);
    if (t.hostNames.every((n) => there.includes(n))) return { how: 'already-ordered' as const };
    if (t.hostNames.some((n) => there.includes(n))) throw nonRetryable('BadRequest', `some of ${t.hostNames.join(', ')} are in ${t.cluster} already, some not: check the instance in the IBM Cloud console`);
    await c.orderHosts(t.instanceId, t.clusterId, t.hostNames).catch(busy);
    return { how: 'ordered' as const };
  });
}

/** Asks IBM to remove the hosts of this run's order (the ones by those names that are there); none left is fine. */
export async function removeIbmHosts(t: IbmOrderTarget & { clusterId: string; hostNames: string[] }): Promise<{ how: 'requested' | 'absent' }> {
  return guarded(async () => {
    const c = await client(t.ibm);
    const going = (await c.getCluster(t.instanceId, t.clusterId)).hosts.filter((h) => t.hostNames.includes(h.name.hostname) && h.state !== 'Deleting');
    if (!going.length) return { how: 'absent' as const };
    await c.removeHosts(t.instanceId, t.clusterId, going.map((h) => h.id)).catch(busy);
    return { how: 'requested' as const };
  });
}

/**
 * One look at an order: done when the instance is Available again and the hosts are all there and
 * Available (`present`), or all gone (`absent`). Not yet: a retryable `OrderInProgress`. An
 * instance that went back to Available without the hosts: the order failed (IBM's history says why).
 */
export async function awaitIbmOrder(t: IbmOrderTarget & { clusterId: string; hostNames: string[]; want: 'present' | 'absent' }): Promise<{ instanceStatus: string }> {
  return guarded(async () => {
    const c = await client(t.ibm);
    const instance = await c.getInstance(t.instanceId);
    if (instance.status === 'Failed') throw nonRetryable('CapacityOrderFailed', `instance ${instance.name} is Failed: open a case with IBM Cloud support; hosts ${t.hostNames.join(', ')} may be half added`);
    const hosts = (await c.getCluster(t.instanceId, t.clusterId)).hosts.filter((h) => t.hostNames.includes(h.name.hostname));
    const done = t.want === 'present' ? hosts.length === t.hostNames.length && hosts.every((h) => h.state === 'Available') : hosts.length === 0;
    if (instance.status === 'Available' && done) return { instanceStatus: instance.status };
    if (instance.status === 'Available' && t.want === 'present' && hosts.length < t.hostNames.length) {
      const said = (await c.history(t.instanceId)).at(-1)?.message;
      throw nonRetryable('CapacityOrderFailed', `the order of ${t.hostNames.join(', ')} ended without ${t.hostNames.filter((n) => !hosts.some((h) => h.name.hostname === n)).join(', ')}${said ? `; IBM says: ${said}` : ''}`);
    }
    throw ApplicationFailure.create({ type: 'OrderInProgress', category: ApplicationFailureCategory.BENIGN, message: `instance ${instance.name} is ${instance.status}; hosts ${hosts.map((h) => `${h.name.hostname} ${h.state}`).join(', ') || 'none yet'}` });
  });
}

/** Read-only: no cluster of that name in IBM's inventory, and IBM verifies and prices the order. */
export async function precheckIbmCluster(t: { ibm: IbmCloudConfig; instanceId: string; name: string; quantity: number }): Promise<{ instance: { id: string; name: string }; location: string; price?: { total_monthly: string; currency: string } }> {
  return guarded(async () => {
    const c = await client(t.ibm);
    const instance = await c.getInstance(t.instanceId);
    if ((await c.listClusters(t.instanceId)).some((x) => x.name === t.name && x.status !== 'Deleted')) throw nonRetryable('ScaleOutPrecheckFailed', `nothing was ordered: IBM's inventory already has a cluster ${t.name}`);
    const location = instance.location ?? '';
    const verified = await c.orderCluster(t.instanceId, { cluster_name: t.name, location, hardware: { quantity: t.quantity } }, { verify: true });
    return { instance: { id: instance.id, name: instance.name }, location, ...(verified.price ? { price: verified.price } : {}) };
  });
}

/** Orders the cluster; one by that name already there (a retry: the pre-check saw none) is not ordered again. */
export async function orderIbmCluster(t: { ibm: IbmCloudConfig; instanceId: string; name: string; location: string; quantity: number }): Promise<{ how: 'ordered' | 'already-ordered' }> {
  return guarded(async () => {
    const c = await client(t.ibm);
    if ((await c.listClusters(t.instanceId)).some((x) => x.name === t.name && !['Deleting', 'Deleted'].includes(x.status))) return { how: 'already-ordered' as const };
    await c.orderCluster(t.instanceId, { cluster_name: t.name, location: t.location, hardware: { quantity: t.quantity } }).catch(busy);
    return { how: 'ordered' as const };
  });
}

/**
 * One look at an ordered cluster: `present` — Available with all its hosts (their FQDNs returned);
 * `absent` — gone. Not yet: a benign retryable `OrderInProgress`. Gone while the instance is
 * Available again: the order failed (IBM's history says why).
 */
export async function awaitIbmCluster(t: { ibm: IbmCloudConfig; instanceId: string; name: string; want: 'present' | 'absent' }): Promise<{ hosts: string[] }> {
  return guarded(async () => {
    const c = await client(t.ibm);
    const instance = await c.getInstance(t.instanceId);
    const found = (await c.listClusters(t.instanceId)).find((x) => x.name === t.name && x.status !== 'Deleted');
    if (t.want === 'absent') {
      if (!found) return { hosts: [] };
      throw ApplicationFailure.create({ type: 'OrderInProgress', category: ApplicationFailureCategory.BENIGN, message: `cluster ${t.name} is ${found.status}` });
    }
    if (!found && instance.status === 'Available') {
      const said = (await c.history(t.instanceId)).at(-1)?.message;
      throw nonRetryable('CapacityOrderFailed', `the order of cluster ${t.name} ended without it${said ? `; IBM says: ${said}` : ''}`);
    }
    const detail = found ? await c.getCluster(t.instanceId, found.id) : undefined;
    if (detail?.status === 'Available' && detail.hosts.every((h) => h.state === 'Available') && instance.status === 'Available') {
      return { hosts: detail.hosts.map((h) => `${h.name.hostname}.${h.name.domain ?? instance.root_domain}`) };
    }
    throw ApplicationFailure.create({ type: 'OrderInProgress', category: ApplicationFailureCategory.BENIGN, message: `cluster ${t.name} is ${detail?.status ?? 'not listed yet'}; instance ${instance.name} is ${instance.status}` });
  });
}

/** Asks IBM to delete the cluster this run ordered (named so; the pre-check saw none before); none left is fine. */
export async function deleteIbmCluster(t: { ibm: IbmCloudConfig; instanceId: string; name: string }): Promise<{ how: 'requested' | 'absent' }> {
  return guarded(async () => {
    const c = await client(t.ibm);
    const found = (await c.listClusters(t.instanceId)).find((x) => x.name === t.name && !['Deleting', 'Deleted'].includes(x.status));
    if (!found) return { how: 'absent' as const };
    await c.deleteCluster(t.instanceId, found.id).catch(busy);
    return { how: 'requested' as const };
  });
}
