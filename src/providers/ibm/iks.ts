import { HttpError, errorDetail, parseJson, send } from '../http.js';
import { tlsOf, type EndpointTls } from '../tls.js';
import type { IamTokenProvider } from './iam.js';

/** Shapes of the IKS API we read (shared/api/ibmcloud.md). */
export interface IksCluster {
  id: string;
  name: string;
  region?: string;
  state: string;
  masterKubeVersion: string;
  masterStatus: string;
  masterHealth: string;
  lifecycle?: { masterStatus?: string; masterHealth?: string; masterState?: string };
  workerCount?: number;
  workerZones?: string[];
}

export interface IksWorkerPool {
  id: string;
  name: string;
  sizePerZone: number;
  machineType: string;
  state: string;
  zones: { id: string; workerCount: number }[];
}

export interface IksWorker {
  id: string;
  poolid: string;
  location: string;
  /** Classic: provision_pending, provisioning, provision_failed, deploying, deployed, normal, deleting, deleted, critical, warning. */
  state: string;
  /** Classic: `Ready` once the node joined; otherwise what it is doing or why it failed. */
  status: string;
}

export interface RetryOptions {
  maxAttempts?: number;
  /** Upper bound for one Retry-After wait; longer ones are left to the activity's retry policy. */
  maxWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** 429 Retry-After in seconds or as an HTTP date. */
export function retryAfterMs(header: string | string[] | undefined, nowMs = Date.now()): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - nowMs);
}

export class RateLimitedError extends HttpError {
  override readonly name = 'RateLimited';
  constructor(method: string, url: string, detail: string, readonly retryAfterMs: number | undefined) {
    super('IBM Cloud Kubernetes Service', method, url, 429, detail);
  }
}

/**
 * IKS client: bearer token from IAM (refetched once on 401), 429 honouring Retry-After and 5xx
 * retried with backoff a few times; what is left over reaches the activity's retry policy.
 */
export class IksClient {
  constructor(
    private readonly o: { iksUrl: string; iam: IamTokenProvider; resourceGroup?: string; retry?: RetryOptions } & EndpointTls,
  ) {}

  private get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  private async request<T>(method: 'GET' | 'PATCH' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const url = `${this.o.iksUrl.replace(/\/$/, '')}${path}`;
    const max = this.o.retry?.maxAttempts ?? 4;
    const maxWait = this.o.retry?.maxWaitMs ?? 30_000;
    const sleep = this.o.retry?.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
    let reauthed = false;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { authorization: await this.o.iam.bearer() };
      if (this.o.resourceGroup) headers['x-auth-resource-group'] = this.o.resourceGroup;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await send({ method, url, headers, ...tlsOf(this.o), product: 'IBM Cloud Kubernetes Service', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      if (res.status < 400) return (res.text.trim() ? parseJson<T>(res.text) : undefined) as T;
      const detail = errorDetail<{ description?: string; code?: string }>(res, (e) => e?.description && `${e.description}${e.code ? ` (${e.code})` : ''}`, 300);
      if (res.status === 401 && !reauthed) {
        reauthed = true;
        this.o.iam.invalidate();
        continue;
      }
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers['retry-after']);
        if (attempt < max && (wait ?? 1000) <= maxWait) {
          await sleep(wait ?? 1000 * 2 ** attempt);
          continue;
        }
        throw new RateLimitedError(method, url, detail, wait);
      }
      // A write is retried on 5xx too: each is idempotent here (a size, a zone id), and the callers check first.
      if (res.status >= 500 && attempt < max) {
        await sleep(500 * 2 ** (attempt - 1));
        continue;
      }
      const hint =
        res.status === 401 || res.status === 403
          ? ' — check that the API key\'s identity has access to this cluster (and the resource group)'
          : res.status === 404
            ? ' — check the cluster id in sites.<site>.iksClusters and the region (and the worker pool or zone, for a pool call)'
            : '';
      throw new HttpError('IBM Cloud Kubernetes Service', method, url, res.status, detail + hint);
    }
  }

  getCluster(cluster: string): Promise<IksCluster> {
    return this.get(`/v2/getCluster?cluster=${encodeURIComponent(cluster)}`);
  }

  listWorkerPools(cluster: string): Promise<IksWorkerPool[]> {
    return this.get(`/v1/clusters/${encodeURIComponent(cluster)}/workerpools`);
  }

  listWorkers(cluster: string): Promise<IksWorker[]> {
    return this.get(`/v1/clusters/${encodeURIComponent(cluster)}/workers`);
  }

  getWorkerPool(cluster: string, pool: string): Promise<IksWorkerPool> {
    return this.get(`/v1/clusters/${encodeURIComponent(cluster)}/workerpools/${encodeURIComponent(pool)}`);
  }

  /** Resize: every zone of the pool gets `sizePerZone` workers. */
  async resizeWorkerPool(cluster: string, pool: string, sizePerZone: number): Promise<void> {
    await this.request('PATCH', `/v1/clusters/${encodeURIComponent(cluster)}/workerpools/${encodeURIComponent(pool)}`, { state: 'resizing', sizePerZone });
  }

  /** Adds a zone to the pool (classic: with its VLANs); it gets `sizePerZone` workers. */
  async addWorkerPoolZone(cluster: string, pool: string, zone: { id: string; privateVlan?: string; publicVlan?: string }): Promise<void> {
    await this.request('POST', `/v1/clusters/${encodeURIComponent(cluster)}/workerpools/${encodeURIComponent(pool)}/zones`, zone);
  }

  async removeWorkerPoolZone(cluster: string, pool: string, zone: string): Promise<void> {
    await this.request('DELETE', `/v1/clusters/${encodeURIComponent(cluster)}/workerpools/${encodeURIComponent(pool)}/zones/${encodeURIComponent(zone)}`);
  }
}

