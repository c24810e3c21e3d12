import { randomUUID } from 'node:crypto';
import { listen, type LabRequest, type LabResponse } from './http.js';
import type { CertAndKey } from './tls.js';
import type { VsClusterDetail, VsHost, VsInstance } from '../providers/ibm/vmware-solutions.js';

/**
 * IBM Cloud for VMware Solutions simulator (docs/research/vmware-solutions-api.md): one vCenter
 * Server instance with clusters and hosts. An order takes `orderMs`; meanwhile the instance is
 * `Modifying` and a second change is refused with 409, as IBM does. When an order of hosts
 * completes, IBM's automation joins them to vCenter — here through `join` (the lab's SOAP peer).
 *
 * Lab control: PUT/DELETE /lab/faults {orderMs, failOrder, skipJoin, busyMs, refuseOrders};
 * GET /lab/orders (every order placed, with its price).
 */
export interface VsSimOptions {
  /** Checks a bearer token (shared with the IAM simulator). */
  authorized: (authorization: string | undefined) => boolean;
  instance: { id: string; name: string; rootDomain: string; clusters: { id: string; name: string; hosts: string[] }[] };
  /** IBM's automation adds the hosts (FQDNs) to the vCenter cluster / removes them. */
  join: (cluster: string, hosts: string[]) => Promise<void>;
  leave: (hosts: string[]) => Promise<void>;
  /** A cluster IBM builds: its automation creates it in vCenter (then joins its hosts) / removes it. */
  createCluster?: (name: string) => Promise<void>;
  destroyCluster?: (name: string) => Promise<void>;
  /** A new instance is built: the lab starts what answers at its vCenter and NSX endpoints. */
  provision?: (name: string) => Promise<{ vcenter: string; nsx: string }>;
  port?: number;
  /** Serve HTTPS with this certificate (the lab's); without it, plain HTTP. */
  tls?: CertAndKey;
}

export interface VsFaults {
  /** How long an order (or a removal) takes. */
  orderMs?: number;
  /** The next order ends without its hosts (the instance goes back to Available; history says why). */
  failOrder?: string;
  /** Hosts of the next order are Available in IBM's inventory but never join vCenter. */
  skipJoin?: boolean;
  /** The instance is busy (Modifying) with another change for this long from now. */
  busyMs?: number;
  /** Orders for a new instance are refused for this account (End of Marketing). */
  refuseOrders?: boolean;
}

const PRICE_PER_HOST = 2890.4;
/** What a new instance costs besides its hosts (management components), in the lab. */
const PRICE_PER_INSTANCE = 4120.0;

function vsError(status: number, code: string, message: string): LabResponse {
  return { status, body: { status_code: status, errors: [{ code, message }] } };
}

export async function startVmwareSolutionsSimulator(o: VsSimOptions) {
  let faults: VsFaults = {};
  let busyUntil = 0;
  type Instance = VsInstance & { root_domain: string; created_time: number; clusters: VsClusterDetail[] };
  const instances = new Map<string, Instance>();
  const labInstance: Instance = { id: o.instance.id, name: o.instance.name, status: 'Available', location: 'tok02', root_domain: o.instance.rootDomain, created_time: Math.floor(Date.now() / 1000) - 86400 * 400, clusters: [] };
  instances.set(labInstance.id, labInstance);
  labInstance.clusters = o.instance.clusters.map((c) => ({
    id: c.id,
    name: c.name,
    status: 'Available',
    location: 'tok02',
    hosts: c.hosts.map((h) => ({ id: randomUUID(), name: { hostname: h, domain: o.instance.rootDomain }, state: 'Available' })),
  }));
  const orders: { at: string; kind: 'hosts' | 'remove-hosts' | 'instance' | 'delete-instance' | 'cluster' | 'delete-cluster'; cluster: string; hosts: string[]; price?: string; verifyOnly: boolean }[] = [];
  const history: { history_id: string; message: string; timestamp: string }[] = [];
  const say = (message: string) => history.push({ history_id: randomUUID(), message, timestamp: String(Math.floor(Date.now() / 1000)) });
  const timers = new Set<NodeJS.Timeout>();
  const after = (ms: number, fn: () => Promise<void>) => {
    const t = setTimeout(() => {
      timers.delete(t);
      void fn().catch((err: unknown) => say(`lab: ${(err as Error).message}`));
    }, ms);
    timers.add(t);
  };
  const fqdn = (h: VsHost) => `${h.name.hostname}.${h.name.domain ?? o.instance.rootDomain}`;
  const busy = (instance: Instance) => instance.status !== 'Available' || Date.now() < busyUntil;
  const price = (n: number) => ({ total_monthly: (n * PRICE_PER_HOST).toFixed(2), currency: 'USD' });

  const handle = async (req: LabRequest): Promise<LabResponse> => {
    if (req.path === '/lab/faults') {
      if (req.method === 'DELETE') faults = {};
      else if (req.method === 'PUT') {
        faults = { ...faults, ...(req.body as VsFaults) };
        if (faults.busyMs) busyUntil = Date.now() + faults.busyMs;
      }
      return { status: 200, body: faults };
    }
    if (req.path === '/lab/orders') return { status: 200, body: orders };
    if (!o.authorized(req.headers.authorization)) return vsError(401, 'BXNVS0401', 'The IAM token is invalid or expired');
    const q = (k: string) => req.query.get(k) === 'true';
    let m: RegExpExecArray | null;
    const view = ({ clusters: _c, ...i }: Instance) => ({ ...i, status: i === labInstance && Date.now() < busyUntil ? 'Modifying' : i.status });
    if (req.method === 'GET' && req.path === '/v1/vcenters') return { status: 200, body: [...instances.values()].map(view) };
    if (req.method === 'POST' && req.path === '/v1/vcenters/nsxt') return orderInstance(req);
    if (!(m = /^\/v[12]\/vcenters\/([^/]+)(\/.*)?$/.exec(req.path)) || !instances.has(m[1]!)) return vsError(404, 'BXNVS0404', 'The resource cannot be found.');
    const instance = instances.get(m[1]!)!;
    const rest = m[2] ?? '';
    if (req.method === 'GET' && rest === '') return { status: 200, body: view(instance) };
    if (req.method === 'DELETE' && rest === '') return deleteInstance(instance);
    if (req.method === 'GET' && rest === '/history') return { status: 200, body: { history_messages: history } };
    const clusters = instance.clusters;
    if (req.method === 'GET' && rest === '/clusters') return { status: 200, body: clusters.map(({ hosts, ...c }) => ({ ...c, num_hosts: hosts.length })) };
    const cm = /^\/clusters\/([^/]+)(\/hosts)?$/.exec(rest);
    const cluster = cm ? clusters.find((c) => c.id === cm[1]) : undefined;
    if (req.method === 'POST' && rest === '/clusters') return orderCluster(instance, req);
    if (!cm || !cluster) return vsError(404, 'BXNVS0404', 'The resource cannot be found.');
    if (req.method === 'DELETE' && !cm[2]) return deleteCluster(instance, cluster);
    if (req.method === 'GET' && !cm[2]) return { status: 200, body: { ...cluster, num_hosts: cluster.hosts.length } };
    if (req.method === 'POST' && cm[2]) {
      const b = req.body as { host_names?: string[]; quantity?: number };
      const names = b.host_names ?? [];
      if (!names.length || names.some((n) => !/^[a-z0-9-]+$/i.test(n))) return vsError(400, 'BXNVS0400', 'Bad request. Check your request parameters: host_names must be host names without the domain.');
      if (clusters.some((c) => c.hosts.some((h) => names.includes(h.name.hostname)))) return vsError(400, 'BXNVS0400', 'Bad request. A host with this name already exists in the instance.');
      const verifyOnly = q('verify_only');
      orders.push({ at: new Date().toISOString(), kind: 'hosts', cluster: cluster.name, hosts: names, price: price(names.length).total_monthly, verifyOnly });
      if (verifyOnly) return { status: 200, body: { price: price(names.length) } };
      if (busy(instance)) return vsError(409, 'BXNVS0409', 'Conflict. The request cannot be completed because of a conflict with the current state of the target resource.');
      const added: VsHost[] = names.map((n) => ({ id: randomUUID(), name: { hostname: n, domain: o.instance.rootDomain }, state: 'Adding' }));
      cluster.hosts.push(...added);
      instance.status = cluster.status = 'Modifying';
      const fail = faults.failOrder;
      const skipJoin = faults.skipJoin;
      faults = { ...faults, failOrder: undefined, skipJoin: undefined };
      after(faults.orderMs ?? 1000, async () => {
        if (fail) {
          cluster.hosts = cluster.hosts.filter((h) => !added.includes(h));
          say(`Adding hosts ${names.join(', ')} to cluster ${cluster.name} failed: ${fail}`);
        } else {
          if (!skipJoin) await o.join(cluster.name, added.map(fqdn));
          for (const h of added) h.state = 'Available';
          say(`Hosts ${names.join(', ')} were added to cluster ${cluster.name}`);
        }
        instance.status = cluster.status = 'Available';
      });
      return { status: 202, body: {} };
    }
    if (req.method === 'PATCH' && cm[2]) {
      const b = req.body as { action?: string; hosts?: string[] };
      if (b.action !== 'delete' || !b.hosts?.length) return vsError(400, 'BXNVS0400', 'Bad request. Check your request parameters: action must be "delete" and hosts a list of host ids.');
      const going = cluster.hosts.filter((h) => b.hosts!.includes(h.id));
      if (going.length !== b.hosts.length) return vsError(404, 'BXNVS0404', 'The resource cannot be found: a host id is not in this cluster.');
      if (busy(instance)) return vsError(409, 'BXNVS0409', 'Conflict. The request cannot be completed because of a conflict with the current state of the target resource.');
      orders.push({ at: new Date().toISOString(), kind: 'remove-hosts', cluster: cluster.name, hosts: going.map((h) => h.name.hostname), verifyOnly: false });
      for (const h of going) h.state = 'Deleting';
      instance.status = cluster.status = 'Modifying';
      after(faults.orderMs ?? 1000, async () => {
        await o.leave(going.map(fqdn));
        cluster.hosts = cluster.hosts.filter((h) => !going.includes(h));
        say(`Hosts ${going.map((h) => h.name.hostname).join(', ')} were removed from cluster ${cluster.name}`);
        instance.status = cluster.status = 'Available';
      });
      return { status: 202, body: {} };
    }
    return vsError(404, 'BXNVS0404', 'The resource cannot be found.');
  };

  let hostSeq = 100;
  let clusterSeq = 0;
  /** POST /v1/vcenters/{id}/clusters: a new cluster; IBM names its hosts host<n>. Initializing → Available after orderMs. */
  const orderCluster = (instance: Instance, req: LabRequest): LabResponse => {
    const b = req.body as { cluster_name?: string; location?: string; hardware?: { quantity?: number } };
    const quantity = b.hardware?.quantity;
    if (!b.cluster_name || b.cluster_name.length > 30 || !b.location || !Number.isInteger(quantity) || quantity! < 2) {
      return vsError(400, 'BXNVS0400', 'Bad request. Check your request parameters: cluster_name (up to 30 characters), location and hardware.quantity (at least 2) are required.');
    }
    if (instance.clusters.some((c) => c.name === b.cluster_name && c.status !== 'Deleted')) return vsError(400, 'BXNVS0400', `Bad request. A cluster named ${b.cluster_name} already exists in the instance.`);
    const verifyOnly = req.query.get('verify_only') === 'true';
    const total = (quantity! * PRICE_PER_HOST).toFixed(2);
    orders.push({ at: new Date().toISOString(), kind: 'cluster', cluster: b.cluster_name, hosts: [], price: total, verifyOnly });
    if (verifyOnly) return { status: 200, body: { price: { total_monthly: total, currency: 'USD' } } };
    if (busy(instance)) return vsError(409, 'BXNVS0409', 'Conflict. The request cannot be completed because of a conflict with the current state of the target resource.');
    const id = String(++clusterSeq);
    const hosts: VsHost[] = Array.from({ length: quantity! }, () => ({ id: randomUUID(), name: { hostname: `host${++hostSeq}`, domain: instance.root_domain }, state: 'Adding' }));
    const cluster: VsClusterDetail = { id, name: b.cluster_name, status: 'Initializing', location: b.location, hosts };
    instance.clusters.push(cluster);
    instance.status = 'Modifying';
    const fail = faults.failOrder;
    const skipJoin = faults.skipJoin;
    faults = { ...faults, failOrder: undefined, skipJoin: undefined };
    after(faults.orderMs ?? 1000, async () => {
      if (fail) {
        instance.clusters = instance.clusters.filter((c) => c !== cluster);
        say(`Adding cluster ${b.cluster_name} failed: ${fail}`);
      } else {
        await o.createCluster?.(cluster.name);
        if (!skipJoin) await o.join(cluster.name, hosts.map(fqdn));
        for (const h of hosts) h.state = 'Available';
        cluster.status = 'Available';
        say(`Cluster ${b.cluster_name} was added with hosts ${hosts.map((h) => h.name.hostname).join(', ')}`);
      }
      instance.status = 'Available';
    });
    return { status: 202, body: { id } };
  };

  /** DELETE /v1/vcenters/{id}/clusters/{cid}: Deleting; then its hosts leave vCenter, the cluster goes, after orderMs. */
  const deleteCluster = (instance: Instance, cluster: VsClusterDetail): LabResponse => {
    if (busy(instance)) return vsError(409, 'BXNVS0409', 'Conflict. The request cannot be completed because of a conflict with the current state of the target resource.');
    cluster.status = 'Deleting';
    instance.status = 'Modifying';
    orders.push({ at: new Date().toISOString(), kind: 'delete-cluster', cluster: cluster.name, hosts: cluster.hosts.map((h) => h.name.hostname), verifyOnly: false });
    after(faults.orderMs ?? 1000, async () => {
      await o.leave(cluster.hosts.map(fqdn));
      await o.destroyCluster?.(cluster.name);
      instance.clusters = instance.clusters.filter((c) => c !== cluster);
      say(`Cluster ${cluster.name} was deleted`);
      instance.status = 'Available';
    });
    return { status: 202, body: {} };
  };

  /** POST /v1/vcenters/nsxt: a new instance (a new site). Creating → Available after orderMs, or Failed. */
  const orderInstance = (req: LabRequest): LabResponse => {
    if (faults.refuseOrders) return vsError(403, 'BXNVS0403', 'New deployments of VMware Solutions offerings are no longer available for this account (End of Marketing, 31 October 2025).');
    const b = req.body as { name?: string; root_domain?: string; management?: { cluster_name?: string; location?: string; quantity?: number } };
    const mgmt = b.management;
    if (!b.name || !/^[a-z0-9-]{1,10}$/i.test(b.name) || !b.root_domain || !mgmt?.cluster_name || !mgmt.location || !Number.isInteger(mgmt.quantity) || mgmt.quantity! < 2) {
      return vsError(400, 'BXNVS0400', 'Bad request. Check your request parameters: name (1–10 letters, digits, -), root_domain, management.cluster_name, management.location and management.quantity (at least 2) are required.');
    }
    if ([...instances.values()].some((i) => i.name === b.name && i.status !== 'Deleted')) return vsError(400, 'BXNVS0400', `Bad request. An instance named ${b.name} already exists in the account.`);
    const verifyOnly = req.query.get('verify_only') === 'true';
    const total = (PRICE_PER_INSTANCE + mgmt.quantity! * PRICE_PER_HOST).toFixed(2);
    orders.push({ at: new Date().toISOString(), kind: 'instance', cluster: mgmt.cluster_name, hosts: [], price: total, verifyOnly });
    if (verifyOnly) return { status: 200, body: { price: { total_monthly: total, currency: 'USD' } } };
    const id = randomUUID();
    const created: Instance = { id, name: b.name, status: 'Creating', location: mgmt.location, root_domain: b.root_domain, created_time: Math.floor(Date.now() / 1000), clusters: [{ id: '0', name: mgmt.cluster_name, status: 'Initializing', location: mgmt.location, hosts: [] }] };
    instances.set(id, created);
    const fail = faults.failOrder;
    faults = { ...faults, failOrder: undefined };
    after(faults.orderMs ?? 1000, async () => {
      if (created.status !== 'Creating') return;
      if (fail || !o.provision) {
        created.status = 'Failed';
        say(`Deploying instance ${b.name} failed: ${fail ?? 'the lab cannot provision it'}`);
        return;
      }
      const ep = await o.provision(b.name!);
      created.endpoints = [
        { type: 'vcenter', fqdn: ep.vcenter, version: '8.0' },
        { type: 'nsxt', fqdn: ep.nsx, version: '4.2' },
      ];
      created.clusters[0]!.status = 'Available';
      created.status = 'Available';
      say(`Instance ${b.name} is Available`);
    });
    return { status: 202, body: { id } };
  };

  /** DELETE /v1/vcenters/{id}: Deleting, then Deleted after orderMs. */
  const deleteInstance = (instance: Instance): LabResponse => {
    if (instance === labInstance) return vsError(403, 'BXNVS0403', 'The lab will not delete its own instance.');
    if (instance.status === 'Deleted' || instance.status === 'Deleting') return { status: 202, body: {} };
    instance.status = 'Deleting';
    orders.push({ at: new Date().toISOString(), kind: 'delete-instance', cluster: '', hosts: [], verifyOnly: false });
    after(faults.orderMs ?? 1000, async () => {
      instance.status = 'Deleted';
      say(`Instance ${instance.name} was deleted`);
    });
    return { status: 202, body: {} };
  };

  const server = await listen(handle, { port: o.port, tls: o.tls });
  return {
    url: server.url,
    instanceId: labInstance.id,
    setFaults: (f: VsFaults) => {
      faults = { ...faults, ...f };
      if (f.busyMs) busyUntil = Date.now() + f.busyMs;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      await server.close();
    },
  };
}
