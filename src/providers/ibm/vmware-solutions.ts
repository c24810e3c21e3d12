import { HttpError, errorDetail, parseJson, send } from '../http.js';
import { tlsOf, type EndpointTls } from '../tls.js';
import type { IamTokenProvider } from './iam.js';

/**
 * IBM Cloud for VMware Solutions (the classic `vcenters` API; shared/api/ibmcloud.md and
 * docs/research/vmware-solutions-api.md): vCenter Server instances, their clusters and hosts.
 * Capacity is ordered; IBM's automation then joins the hosts to vCenter. Orders are tracked by
 * polling the instance (`Modifying` → `Available`, or `Failed`); there is no order id.
 */
export interface VsInstance {
  id: string;
  name: string;
  /** Creating, Building, Available, Modifying, Failed, Deleting, Deletion error, Deleted. */
  status: string;
  location?: string;
  /** Hosts are named <hostname>.<root_domain>. */
  root_domain?: string;
  /** Epoch seconds. */
  created_time?: number;
  endpoints?: { type: string; fqdn?: string; ip_address?: string; version?: string }[];
}
export interface VsCluster {
  id: string;
  name: string;
  /** Initializing, Modifying, Available, Deleting, Deleted. */
  status: string;
  location?: string;
  num_hosts?: number;
}
export interface VsHost {
  id: string;
  name: { hostname: string; domain?: string };
  /** Available, Adding, Deleting. */
  state: string;
}
export interface VsClusterDetail extends VsCluster {
  hosts: VsHost[];
}
/** What a verify-only order answers: the order checked, with its price (the shape IBM does not document; see the research note). */
export interface VsVerified {
  price?: { total_monthly: string; currency: string };
}

/** The body of a new-instance order (the fields the lab checks; IBM takes more: licenses, networking, storage). */
export interface NewInstanceOrder {
  name: string;
  root_domain: string;
  management: { cluster_name: string; location: string; quantity: number };
}

/** A second change while the instance is changing: IBM answers 409. Waiting and retrying is the cure. */
export class InstanceBusyError extends HttpError {
  override readonly name = 'InstanceBusy';
  constructor(method: string, url: string, detail: string) {
    super('IBM Cloud for VMware Solutions', method, url, 409, detail);
  }
  override get retryable(): boolean {
    return true;
  }
}

export class VmwareSolutionsClient {
  constructor(private readonly o: { url: string; iam: IamTokenProvider } & EndpointTls) {}

  private async request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const url = `${this.o.url.replace(/\/$/, '')}${path}`;
    let reauthed = false;
    for (;;) {
      const headers: Record<string, string> = { authorization: await this.o.iam.bearer(), accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await send({ method, url, headers, ...tlsOf(this.o), product: 'IBM Cloud for VMware Solutions', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      if (res.status < 400) return { status: res.status, body: (res.text.trim() ? parseJson<T>(res.text) : undefined) as T };
      if (res.status === 401 && !reauthed) {
        reauthed = true;
        this.o.iam.invalidate();
        continue;
      }
      const detail = errorDetail<{ errors?: { code?: string; message?: string }[] }>(res, (e) => e?.errors?.map((x) => `${x.message}${x.code ? ` (${x.code})` : ''}`).join('; '), 300);
      if (res.status === 409) throw new InstanceBusyError(method, url, detail);
      const hint = res.status === 401 || res.status === 403 ? ' — check the IAM access policy of the API key for the VMware Solutions service' : res.status === 404 ? ' — check sites.<site>.capacity.instanceId and the cluster' : '';
      throw new HttpError('IBM Cloud for VMware Solutions', method, url, res.status, detail + hint);
    }
  }

  async listInstances(): Promise<VsInstance[]> {
    return (await this.request<VsInstance[]>('GET', '/v1/vcenters')).body ?? [];
  }

  /**
   * Orders a new vCenter Server (NSX-T) instance: a new site. `verify` only checks and prices it.
   * An account IBM no longer lets order new instances is refused here (End of Marketing, 31 October 2025).
   */
  async orderInstance(order: NewInstanceOrder, o: { verify?: boolean } = {}): Promise<VsVerified & { id?: string }> {
    const q = o.verify ? '?verify_only=true&check_price=true' : '';
    return (await this.request<VsVerified & { id?: string }>('POST', `/v1/vcenters/nsxt${q}`, order)).body ?? {};
  }

  async deleteInstance(id: string): Promise<void> {
    await this.request('DELETE', `/v1/vcenters/${encodeURIComponent(id)}`);
  }

  async getInstance(id: string): Promise<VsInstance> {
    return (await this.request<VsInstance>('GET', `/v1/vcenters/${encodeURIComponent(id)}`)).body;
  }

  async listClusters(id: string): Promise<VsCluster[]> {
    return (await this.request<VsCluster[]>('GET', `/v1/vcenters/${encodeURIComponent(id)}/clusters`)).body;
  }

  async getCluster(id: string, cluster: string): Promise<VsClusterDetail> {
    return (await this.request<VsClusterDetail>('GET', `/v1/vcenters/${encodeURIComponent(id)}/clusters/${encodeURIComponent(cluster)}`)).body;
  }

  /** Orders hosts by name (IBM's `host_names`, short names) into a cluster; `verify` only checks the order and prices it. */
  async orderHosts(id: string, cluster: string, hostNames: string[], o: { verify?: boolean } = {}): Promise<VsVerified> {
    const q = o.verify ? '?verify_only=true&check_price=true' : '';
    return (await this.request<VsVerified>('POST', `/v1/vcenters/${encodeURIComponent(id)}/clusters/${encodeURIComponent(cluster)}/hosts${q}`, { host_names: hostNames, maintenance_mode: false })).body ?? {};
  }

  /** Orders a new cluster of `quantity` hosts (IBM names them); `verify` only checks and prices it. */
  async orderCluster(id: string, order: { cluster_name: string; location: string; hardware: { quantity: number } }, o: { verify?: boolean } = {}): Promise<VsVerified & { id?: string }> {
    const q = o.verify ? '?verify_only=true&check_price=true' : '';
    return (await this.request<VsVerified & { id?: string }>('POST', `/v1/vcenters/${encodeURIComponent(id)}/clusters${q}`, order)).body ?? {};
  }

  async deleteCluster(id: string, cluster: string): Promise<void> {
    await this.request('DELETE', `/v1/vcenters/${encodeURIComponent(id)}/clusters/${encodeURIComponent(cluster)}`);
  }

  /** The instance's history, oldest first: where IBM says why an order failed. */
  async history(id: string): Promise<{ message: string; timestamp: string }[]> {
    return (await this.request<{ history_messages?: { message: string; timestamp: string }[] }>('GET', `/v2/vcenters/${encodeURIComponent(id)}/history`)).body?.history_messages ?? [];
  }

  async removeHosts(id: string, cluster: string, hostIds: string[]): Promise<void> {
    await this.request('PATCH', `/v1/vcenters/${encodeURIComponent(id)}/clusters/${encodeURIComponent(cluster)}/hosts`, { action: 'delete', hosts: hostIds });
  }
}
