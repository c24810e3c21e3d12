import type { SiteConfig, VcenterConfig } from '../../src/config/schema.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { SslVerifyFaultError } from '../../src/providers/vsphere/errors.js';
import type { HaSettings } from '../../src/domain/ha-admission.js';
import { nonRetryable } from '../failures.js';
import { dasSpecOf, readInventory, settleTask, withVsphere, type Inventory } from './vsphere.js';
import { text } from '../../src/providers/vsphere/xml.js';
import type { VsphereClient } from '../../src/providers/vsphere/client.js';
import type { MoRef } from '../../src/providers/vsphere/types.js';

/** The inventory a scale-out changes: clusters, their hosts and HA settings; hosts and their state. */
export async function scaleOutInventory({ vcenter }: { vcenter: VcenterConfig }): Promise<Inventory> {
  return withVsphere(vcenter, readInventory);
}

/** How vCenter logs in to new hosts: the user, and a secret reference to the password. */
export type HostLogin = Pick<NonNullable<SiteConfig['scaleOut']>, 'hostUser' | 'hostPassword'>;

export interface HostRequest {
  name: string;
  /** Pinned SSL thumbprint (SHA-1, colon hex); absent: the pre-check asks vCenter. */
  thumbprint?: string;
}

export interface PlannedHost {
  name: string;
  thumbprint: string;
  /** Pinned by the operator, discovered from vCenter, or ordered (IBM's automation adds it; no thumbprint of ours is needed). */
  source: 'pinned' | 'discovered' | 'ordered';
}

export interface AddHostsPrecheck {
  cluster: string;
  hostsBefore: number;
  haBefore: HaSettings;
  hosts: PlannedHost[];
}

/** Names given twice, and hosts vCenter already has: what no new-host run may go on with. */
function newHostProblems(inv: Inventory, hosts: HostRequest[]): string[] {
  const problems: string[] = [];
  const names = hosts.map((h) => h.name.toLowerCase());
  for (const [k, n] of names.entries()) if (names.indexOf(n) !== k) problems.push(`host ${hosts[k]!.name} is listed twice`);
  for (const h of hosts) {
    const there = inv.hosts.find((x) => x.name.toLowerCase() === h.name.toLowerCase());
    if (there) problems.push(`host ${h.name} is already in vCenter's inventory${there.cluster ? ` (cluster ${there.cluster})` : ''}`);
  }
  return problems;
}

/**
 * Each host's thumbprint: the pinned one, or the one vCenter reports — an AddHost_Task without a
 * thumbprint (on `probe`, an existing cluster) fails with SSLVerifyFault naming it, and changes nothing.
 */
async function thumbprintsOf(c: VsphereClient, probe: MoRef | undefined, hosts: HostRequest[], login: HostLogin): Promise<PlannedHost[]> {
  const out: PlannedHost[] = [];
  for (const h of hosts) {
    if (h.thumbprint) {
      out.push({ name: h.name, thumbprint: h.thumbprint.toUpperCase(), source: 'pinned' });
      continue;
    }
    try {
      await c.addHost(probe!, { hostName: h.name, port: 443, userName: login.hostUser, password: await resolveSecret(login.hostPassword) });
      throw nonRetryable('ScaleOutPrecheckFailed', `vCenter added ${h.name} without verifying its certificate: remove it and pin its thumbprint`);
    } catch (err) {
      if (!(err instanceof SslVerifyFaultError) || !err.thumbprint) throw err;
      out.push({ name: h.name, thumbprint: err.thumbprint, source: 'discovered' });
    }
  }
  return out;
}

/**
 * Before any change: the cluster exists, the names are unique and not in the inventory, and every
 * host's thumbprint is known — asked of vCenter when not pinned (an AddHost_Task without one fails
 * with SSLVerifyFault naming it, and changes nothing).
 */
export async function precheckAddHosts(i: { vcenter: VcenterConfig; scaleOut?: HostLogin; cluster: string; hosts: HostRequest[]; ordered?: boolean }): Promise<AddHostsPrecheck> {
  return withVsphere(i.vcenter, async (c) => {
    const inv = await readInventory(c);
    const cluster = inv.clusters.find((x) => x.name === i.cluster);
    const problems: string[] = [];
    if (!cluster) problems.push(`no cluster ${i.cluster} in vCenter (clusters: ${inv.clusters.map((x) => x.name).join(', ') || 'none'})`);
    problems.push(...newHostProblems(inv, i.hosts));
    if (problems.length || !cluster) throw nonRetryable('ScaleOutPrecheckFailed', `nothing was changed: ${problems.join('; ')}`, { problems });
    if (!i.ordered && !i.scaleOut) throw nonRetryable('BadConfig', 'sites.<site>.scaleOut is not set: give hostUser and hostPassword (a secret reference) for the new hosts');
    const hosts = i.ordered ? i.hosts.map((h) => ({ name: h.name, thumbprint: '', source: 'ordered' as const })) : await thumbprintsOf(c, cluster.ref, i.hosts, i.scaleOut!);
    return { cluster: cluster.name, hostsBefore: cluster.hosts.length, haBefore: cluster.ha, hosts };
  });
}

/** Adds one host to the cluster; a host already there (a retry, a restarted worker) is left as it is. */
export async function addHostToCluster(i: { vcenter: VcenterConfig; scaleOut: HostLogin; cluster: string; host: string; thumbprint: string }): Promise<{ how: 'added' | 'already-there' }> {
  return withVsphere(i.vcenter, async (c) => {
    const found = (await readInventory(c)).clusters.find((x) => x.name === i.cluster);
    if (!found) throw nonRetryable('NotFound', `cluster ${i.cluster} is gone from vCenter`);
    // An add still running on the cluster may be this host's, from an attempt whose worker died
    // before its heartbeat named the task: let it land before looking.
    for (const t of await c.runningTasks(found.ref, 'ClusterComputeResource.addHost')) await settleTask(c, t, 'AddHost_Task');
    const inv = await readInventory(c);
    const there = inv.hosts.find((h) => h.name.toLowerCase() === i.host.toLowerCase());
    if (there?.cluster === i.cluster) return { how: 'already-there' as const };
    if (there) throw nonRetryable('BadRequest', `host ${i.host} is in ${there.cluster ?? 'another place in the inventory'}, not in cluster ${i.cluster}`);
    const cluster = inv.clusters.find((x) => x.name === i.cluster);
    if (!cluster) throw nonRetryable('NotFound', `cluster ${i.cluster} is gone from vCenter`);
    await c.addHost(cluster.ref, { hostName: i.host, port: 443, sslThumbprint: i.thumbprint, userName: i.scaleOut.hostUser, password: await resolveSecret(i.scaleOut.hostPassword) });
    return { how: 'added' as const };
  });
}

/** Removes a host from the inventory (maintenance mode, disconnect, remove); a host already gone is fine. */
export async function removeHostFromCluster(i: { vcenter: VcenterConfig; host: string }): Promise<{ how: 'removed' | 'absent' }> {
  return withVsphere(i.vcenter, async (c) => {
    const there = (await readInventory(c)).hosts.find((h) => h.name.toLowerCase() === i.host.toLowerCase());
    if (!there) return { how: 'absent' as const };
    if (there.connectionState === 'connected' && !there.inMaintenanceMode) await c.enterMaintenanceMode(there.ref);
    if (there.connectionState === 'connected') await c.disconnectHost(there.ref);
    await c.destroy(there.ref);
    return { how: 'removed' as const };
  });
}

/** Sets the cluster's HA settings (the plan's, or in rollback the ones read before the run). */
export async function setClusterHa(i: { vcenter: VcenterConfig; cluster: string; ha: HaSettings }): Promise<void> {
  return withVsphere(i.vcenter, async (c) => {
    const inv = await readInventory(c);
    const cluster = inv.clusters.find((x) => x.name === i.cluster);
    if (!cluster) throw nonRetryable('NotFound', `cluster ${i.cluster} is gone from vCenter`);
    const failoverHosts = i.ha.policy.kind === 'failover-hosts' ? inv.hosts.filter((h) => (i.ha.policy as { failoverHosts: string[] }).failoverHosts.includes(h.ref.value)).map((h) => h.ref) : [];
    await c.reconfigureCluster(cluster.ref, { dasConfig: dasSpecOf(i.ha, failoverHosts) });
  });
}

export interface AddClusterPrecheck {
  /** The datacenter host folder the cluster goes in. */
  folder: string;
  hosts: PlannedHost[];
}

/**
 * Before a new cluster: its name is free, the hosts are new and named once, and every thumbprint
 * is known (asked of vCenter through an existing cluster when not pinned: that changes nothing).
 */
export async function precheckAddCluster(i: { vcenter: VcenterConfig; scaleOut?: HostLogin; name: string; hosts: HostRequest[] }): Promise<AddClusterPrecheck> {
  return withVsphere(i.vcenter, async (c) => {
    const inv = await readInventory(c);
    const problems: string[] = [];
    if (inv.clusters.some((x) => x.name === i.name)) problems.push(`a cluster named ${i.name} already exists`);
    problems.push(...newHostProblems(inv, i.hosts));
    const datacenters = await c.retrieve([{ type: 'Datacenter', paths: ['name', 'hostFolder'] }]);
    if (datacenters.length !== 1) problems.push(`vCenter has ${datacenters.length} datacenters; one is supported so far`);
    const probe = inv.clusters[0]?.ref;
    const unpinned = i.hosts.filter((h) => !h.thumbprint);
    if (unpinned.length && !probe) problems.push(`no cluster to ask vCenter for thumbprints through: pin them (${unpinned.map((h) => `--host ${h.name}=THUMBPRINT`).join(' ')})`);
    if (problems.length) throw nonRetryable('ScaleOutPrecheckFailed', `nothing was changed: ${problems.join('; ')}`, { problems });
    if (i.hosts.length && !i.scaleOut) throw nonRetryable('BadConfig', 'sites.<site>.scaleOut is not set: give hostUser and hostPassword (a secret reference) for the new hosts');
    const hosts = i.hosts.length ? await thumbprintsOf(c, probe, i.hosts, i.scaleOut!) : [];
    return { folder: text(datacenters[0]!.props.hostFolder)!, hosts };
  });
}

/** Creates the cluster with its HA and DRS settings; one already there by that name (a retry) is left as it is. */
export async function createClusterIfAbsent(i: { vcenter: VcenterConfig; folder: string; name: string; ha: HaSettings; drs: { enabled: boolean; behavior: 'manual' | 'partiallyAutomated' | 'fullyAutomated' } }): Promise<{ how: 'created' | 'already-there' }> {
  return withVsphere(i.vcenter, async (c) => {
    if ((await readInventory(c)).clusters.some((x) => x.name === i.name)) return { how: 'already-there' as const };
    await c.createCluster({ type: 'Folder', value: i.folder }, i.name, { dasConfig: dasSpecOf(i.ha), drsConfig: { enabled: i.drs.enabled, defaultVmBehavior: i.drs.behavior } });
    return { how: 'created' as const };
  });
}

/** Removes a cluster (and any host left in it); one already gone is fine. */
export async function destroyClusterIfPresent(i: { vcenter: VcenterConfig; name: string }): Promise<{ how: 'removed' | 'absent' }> {
  return withVsphere(i.vcenter, async (c) => {
    const found = (await readInventory(c)).clusters.find((x) => x.name === i.name);
    if (!found) return { how: 'absent' as const };
    await c.destroy(found.ref);
    return { how: 'removed' as const };
  });
}
