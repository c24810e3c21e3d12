import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IamTokenProvider } from '../../src/providers/ibm/iam.js';
import { IksClient, RateLimitedError, retryAfterMs } from '../../src/providers/ibm/iks.js';
import { HttpError } from '../../src/providers/http.js';
import { startIbmSimulators } from '../../src/lab/ibm.js';
import { poolReadiness } from '../../src/domain/iks-pool.js';
import { ibmCloudSchema } from '../../src/config/schema.js';
import { runActivity } from '../fixtures/activity.js';
import { recordIksClusters } from '../../activities/backup/iks.js';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const API_KEY = 'test-api-key-0123456789';
let sim: Awaited<ReturnType<typeof startIbmSimulators>>;
beforeAll(async () => {
  sim = await startIbmSimulators({ apiKey: API_KEY, clusters: [{ id: 'c1', name: 'apps' }], tokenTtlSeconds: 100 });
});
afterAll(async () => sim?.close());

function iks(sleeps: number[] = [], iam = new IamTokenProvider({ iamUrl: sim.iamUrl, apiKey: API_KEY })) {
  return new IksClient({ iksUrl: sim.iksUrl, iam, retry: { sleep: async (ms) => void sleeps.push(ms) } });
}

describe('IBM Cloud IAM', () => {
  it('caches the token and refreshes it once 80 % of its lifetime has passed', async () => {
    let now = Date.now();
    const iam = new IamTokenProvider({ iamUrl: sim.iamUrl, apiKey: API_KEY, now: () => now });
    const first = await iam.bearer();
    expect(first).toMatch(/^Bearer /);
    now += 70_000;
    expect(await iam.bearer()).toBe(first);
    expect(iam.fetches).toBe(1);
    now += 11_000; // 81 s of 100
    const second = await iam.bearer();
    expect(second).not.toBe(first);
    expect(iam.fetches).toBe(2);
  });

  it('fetches one token for concurrent callers', async () => {
    const iam = new IamTokenProvider({ iamUrl: sim.iamUrl, apiKey: API_KEY });
    await Promise.all([iam.bearer(), iam.bearer(), iam.bearer()]);
    expect(iam.fetches).toBe(1);
  });

  it('a wrong API key fails with IAM\'s message and a hint, without echoing the key', async () => {
    const iam = new IamTokenProvider({ iamUrl: sim.iamUrl, apiKey: 'wrong-key-value' });
    const err = await iam.bearer().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as Error).message).toMatch(/API key could not be found.*check ibmCloud\.apiKey/);
    expect((err as Error).message).not.toContain('wrong-key-value');
  });
});

describe('IKS client', () => {
  it('reads the cluster, its worker pools and workers', async () => {
    const c = iks();
    const cluster = await c.getCluster('apps');
    expect(cluster).toMatchObject({ id: 'c1', name: 'apps', state: 'normal', masterHealth: 'normal' });
    expect(cluster.masterKubeVersion).toMatch(/^1\.\d+/);
    const pools = await c.listWorkerPools('c1');
    expect(pools[0]!.zones.length).toBe(3);
    const workers = await c.listWorkers('c1');
    expect(workers.every((w) => w.poolid === pools[0]!.id && w.state === 'normal' && w.status === 'Ready')).toBe(true);
  });

  it('honours Retry-After on 429, then succeeds', async () => {
    await fetch(`${sim.iksUrl}/lab/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rateLimit: { count: 2, retryAfterSeconds: 3 } }) });
    const sleeps: number[] = [];
    expect((await iks(sleeps).getCluster('c1')).id).toBe('c1');
    expect(sleeps).toEqual([3000, 3000]);
  });

  it('gives up on a Retry-After longer than it may wait, saying how long', async () => {
    await fetch(`${sim.iksUrl}/lab/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rateLimit: { count: 1, retryAfterSeconds: 600 } }) });
    const err = await iks().getCluster('c1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterMs).toBe(600_000);
  });

  it('retries 5xx with backoff', async () => {
    await fetch(`${sim.iksUrl}/lab/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ http5xx: 2 }) });
    const sleeps: number[] = [];
    expect((await iks(sleeps).getCluster('c1')).id).toBe('c1');
    expect(sleeps).toEqual([500, 1000]);
  });

  it('404 and 401 are not retried and say what to check', async () => {
    const sleeps: number[] = [];
    const nf = await iks(sleeps).getCluster('nope').catch((e: unknown) => e);
    expect((nf as HttpError).status).toBe(404);
    expect((nf as Error).message).toMatch(/check the cluster id/);
    await fetch(`${sim.iksUrl}/lab/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ unauthorized: true }) });
    const un = await iks(sleeps).getCluster('c1').catch((e: unknown) => e);
    await fetch(`${sim.iksUrl}/lab/faults`, { method: 'DELETE' });
    expect((un as HttpError).status).toBe(401);
    expect((un as Error).message).toMatch(/access to this cluster/);
    expect(sleeps).toEqual([]);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('5')).toBe(5000);
    expect(retryAfterMs(new Date(Date.parse('2026-01-01T00:00:10Z')).toUTCString(), Date.parse('2026-01-01T00:00:00Z'))).toBe(10_000);
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('recordIksClusters activity', () => {
  const keyFile = join(mkdtempSync(join(tmpdir(), 'ibm-')), 'key');
  writeFileSync(keyFile, API_KEY);
  const ibm = () => ibmCloudSchema.parse({ apiKey: `file:${keyFile}`, iamUrl: sim.iamUrl, iksUrl: sim.iksUrl, etcdBackupPolicy: 'provider policy text' });
  const clusters = [{ id: 'c1', name: 'apps', appOwners: [], escalation: [], appData: { namespaces: [], volumes: [] } }];

  it('records the cluster and the provider-managed etcd backups; an unhealthy master is a warning', async () => {
    const ok = await runActivity(recordIksClusters, { ibm: ibm(), clusters });
    expect(ok.warnings).toEqual([]);
    expect(ok.records[0]).toMatchObject({ clusterId: 'c1', masterHealth: 'normal', etcdBackup: { managedBy: 'provider', policy: 'provider policy text' } });
    await fetch(`${sim.iksUrl}/lab/clusters/c1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ masterHealth: 'critical', masterStatus: 'Error' }) });
    try {
      const bad = await runActivity(recordIksClusters, { ibm: ibm(), clusters });
      expect(bad.records[0]!.masterHealth).toBe('critical');
      expect(bad.warnings[0]).toMatch(/apps \(c1\): master health "critical"/);
    } finally {
      await fetch(`${sim.iksUrl}/lab/clusters/c1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ masterHealth: 'normal', masterStatus: 'Ready' }) });
    }
  });

  it('an unknown cluster becomes a warning, not a failure', async () => {
    const r = await runActivity(recordIksClusters, { ibm: ibm(), clusters: [{ ...clusters[0]!, id: 'missing' }] });
    expect(r.records).toEqual([]);
    expect(r.warnings[0]).toMatch(/missing.*not recorded.*404/);
  });
});

describe('IKS worker pools (client and lab)', () => {
  const set = (f: object) => fetch(`${sim.iksUrl}/lab/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(f) });
  const readiness = async (c: IksClient) => poolReadiness(await c.getWorkerPool('c1', 'default'), await c.listWorkers('c1'));

  it('a resize provisions workers over time; the pool is ready only when every zone has its size, all Ready', async () => {
    const c = iks();
    await set({ workerMs: 300 });
    await c.resizeWorkerPool('c1', 'default', 2);
    const during = await readiness(c);
    expect(during.ready).toBe(false);
    expect(during.waiting).toContain('tok02: 1/2 ready, 1 provisioning');
    expect((await c.getWorkerPool('c1', 'default')).state).toBe('resizing');
    await new Promise((r) => setTimeout(r, 500));
    expect(await readiness(c)).toEqual({ ready: true, waiting: [], failed: [] });
    expect((await c.getWorkerPool('c1', 'default')).state).toBe('active');
    await c.resizeWorkerPool('c1', 'default', 1);
    expect((await readiness(c)).waiting).toContain('tok02: 1/1 ready, 1 leaving');
    await new Promise((r) => setTimeout(r, 500));
    expect((await c.listWorkers('c1')).filter((w) => w.location === 'tok02')).toHaveLength(1);
  });

  it('a zone is added and removed; a worker made to fail shows as failed, with IKS\'s words', async () => {
    const c = iks();
    await set({ workerMs: 200, failWorkers: 1 });
    await c.addWorkerPoolZone('c1', 'default', { id: 'tok06', privateVlan: '2323' });
    await new Promise((r) => setTimeout(r, 400));
    const r = await readiness(c);
    expect(r.ready).toBe(false);
    expect(r.failed).toEqual([{ id: expect.any(String), zone: 'tok06', why: expect.stringMatching(/^Infrastructure exception/) }]);
    await c.removeWorkerPoolZone('c1', 'default', 'tok06');
    await new Promise((r) => setTimeout(r, 400));
    expect((await c.getWorkerPool('c1', 'default')).zones.map((z) => z.id)).toEqual(['tok02', 'tok04', 'tok05']);
    expect(await readiness(c)).toEqual({ ready: true, waiting: [], failed: [] });
  });

  it('bad requests and refusals come back in IBM\'s words, not retried', async () => {
    const c = iks();
    await expect(c.addWorkerPoolZone('c1', 'default', { id: 'tok04' })).rejects.toThrow(/409.*already part of the worker pool/);
    await expect(c.resizeWorkerPool('c1', 'nope', 2)).rejects.toThrow(/404.*worker pool could not be found/);
    await set({ refusePoolChange: { status: 409, code: 'E0093', description: 'The worker pool is being modified.' } });
    await expect(c.resizeWorkerPool('c1', 'default', 3)).rejects.toThrow(/409.*being modified/);
    expect((await c.getWorkerPool('c1', 'default')).sizePerZone, 'the refused resize changed nothing').toBe(1);
  });
});
