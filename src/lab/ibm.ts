import { randomBytes, randomUUID } from 'node:crypto';
import { listen, type LabRequest, type LabResponse } from './http.js';
import type { CertAndKey } from './tls.js';
import { FaultState, faultControl } from './faults.js';
import type { IksCluster, IksWorker, IksWorkerPool } from '../providers/ibm/iks.js';

/**
 * IBM Cloud IAM and IKS simulators (shared/api/ibmcloud.md): the API-key token exchange, and the
 * cluster / worker-pool / worker reads, with IBM's error bodies, bearer checks and faults
 * (PUT /lab/faults on either; PUT /lab/clusters/<id> changes a cluster's state on the IKS one).
 */
export interface IbmSimOptions {
  apiKey: string;
  clusters: { id: string; name: string }[];
  tokenTtlSeconds?: number;
  iamPort?: number;
  iksPort?: number;
  /** Serve HTTPS with this certificate (the lab's); without it, plain HTTP. */
  tls?: CertAndKey;
}

function ibmError(status: number, code: string, description: string): LabResponse {
  return { status, body: { incidentID: randomUUID(), code, description, type: 'General' } };
}

export async function startIbmSimulators(o: IbmSimOptions) {
  const iamFaults = new FaultState();
  const iksFaults = new FaultState();
  const tokens = new Map<string, number>(); // token → expiry (epoch s)
  let issued = 0;
  const clusters = new Map<string, IksCluster>();
  const pools = new Map<string, IksWorkerPool[]>();
  const workers = new Map<string, IksWorker[]>();
  for (const c of o.clusters) {
    clusters.set(c.id, {
      id: c.id,
      name: c.name,
      region: 'jp-tok',
      state: 'normal',
      masterKubeVersion: '1.31.4_1533',
      masterStatus: 'Ready',
      masterHealth: 'normal',
      lifecycle: { masterStatus: 'Ready', masterHealth: 'normal', masterState: 'deployed' },
      workerCount: 3,
      workerZones: ['tok02', 'tok04', 'tok05'],
    });
    const poolId = `${c.id}-${randomBytes(3).toString('hex')}`;
    pools.set(c.id, [{ id: poolId, name: 'default', sizePerZone: 1, machineType: 'b3c.4x16', state: 'active', zones: ['tok02', 'tok04', 'tok05'].map((z) => ({ id: z, workerCount: 1 })) }]);
    workers.set(c.id, ['tok02', 'tok04', 'tok05'].map((z, i) => ({ id: `kube-${c.id}-w${i + 1}`, poolid: poolId, location: z, state: 'normal', status: 'Ready' })));
  }
  const later = new Set<NodeJS.Timeout>();
  const after = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      later.delete(t);
      fn();
    }, ms);
    later.add(t);
  };
  let workerSeq = 100;
  /**
   * Brings a zone of a pool to `size` workers, as IKS does over time: new ones provision (or, with
   * `failWorkers`, end provision_failed); surplus ones go through deleting and disappear. The
   * pool's state is `resizing` until every worker has settled.
   */
  const fitZone = (clusterId: string, pool: IksWorkerPool, zone: string, size = pool.sizePerZone) => {
    const all = workers.get(clusterId)!;
    const live = all.filter((w) => w.poolid === pool.id && w.location === zone && !['deleting', 'deleted'].includes(w.state));
    const ms = iksFaults.get().workerMs ?? 1000;
    const settle = () => {
      const mine = all.filter((w) => w.poolid === pool.id);
      if (mine.every((w) => !['provision_pending', 'provisioning', 'deleting'].includes(w.state))) pool.state = 'active';
      for (const z of pool.zones) z.workerCount = mine.filter((w) => w.location === z.id && w.state !== 'deleting').length;
    };
    pool.state = 'resizing';
    for (let i = live.length; i < size; i++) {
      const fails = (iksFaults.get().failWorkers ?? 0) > 0;
      if (fails) iksFaults.set({ failWorkers: (iksFaults.get().failWorkers ?? 1) - 1 });
      const stalls = !fails && (iksFaults.get().stallWorkers ?? 0) > 0;
      if (stalls) iksFaults.set({ stallWorkers: (iksFaults.get().stallWorkers ?? 1) - 1 });
      const w: IksWorker = { id: `kube-${clusterId}-w${++workerSeq}`, poolid: pool.id, location: zone, state: 'provisioning', status: 'Provisioning the machine' };
      all.push(w);
      if (stalls) continue; // never ready: it stays provisioning until the pool lets it go
      after(ms, () => {
        Object.assign(w, fails ? { state: 'provision_failed', status: 'Infrastructure exception: the machine could not be ordered (lab fault)' } : { state: 'normal', status: 'Ready' });
        settle();
      });
    }
    for (const w of live.slice(size)) {
      Object.assign(w, { state: 'deleting', status: 'Deleting' });
      after(ms, () => {
        all.splice(all.indexOf(w), 1);
        settle();
      });
    }
    settle();
  };
  const find = (idOrName: string) => clusters.get(idOrName) ?? [...clusters.values()].find((c) => c.name === idOrName);

  const iam = async (req: LabRequest): Promise<LabResponse> => {
    const control = faultControl(iamFaults, req);
    if (control) return control;
    if (iamFaults.takeServerError()) return { status: 503, body: { errorCode: 'BXNIM0503E', errorMessage: 'Service unavailable' } };
    if (req.method !== 'POST' || req.path !== '/identity/token') return { status: 404, body: { errorCode: 'BXNIM0404E', errorMessage: 'Not found' } };
    if (!/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) return { status: 400, body: { errorCode: 'BXNIM0109E', errorMessage: 'Property missing or empty. Operation not supported.' } };
    const form = new URLSearchParams(req.rawBody);
    if (form.get('grant_type') !== 'urn:ibm:params:oauth:grant-type:apikey') return { status: 400, body: { errorCode: 'BXNIM0109E', errorMessage: 'Unsupported grant_type' } };
    if (form.get('apikey') !== o.apiKey) return { status: 400, body: { errorCode: 'BXNIM0415E', errorMessage: 'Provided API key could not be found.' } };
    const ttl = o.tokenTtlSeconds ?? 3600;
    const now = Math.floor(Date.now() / 1000);
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, now + ttl);
    issued += 1;
    return { status: 200, body: { access_token: token, refresh_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: ttl, expiration: now + ttl, scope: 'ibm openid' } };
  };

  const iks = async (req: LabRequest): Promise<LabResponse> => {
    const control = faultControl(iksFaults, req);
    if (control) return control;
    const clusterCtl = /^\/lab\/clusters\/([^/]+)$/.exec(req.path);
    if (clusterCtl && req.method === 'PUT') {
      const c = clusters.get(decodeURIComponent(clusterCtl[1]!));
      if (!c) return { status: 404 };
      Object.assign(c, req.body as Partial<IksCluster>);
      c.lifecycle = { ...c.lifecycle, masterStatus: c.masterStatus, masterHealth: c.masterHealth };
      return { status: 200, body: c };
    }
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const exp = tokens.get(token);
    if (iksFaults.get().unauthorized || !exp || exp <= Math.floor(Date.now() / 1000)) {
      return ibmError(401, 'E0006', 'The IAM token is not valid or has expired. Log in again.');
    }
    const retryAfter = iksFaults.takeRateLimit();
    if (retryAfter !== undefined) return { ...ibmError(429, 'E429', 'Too many requests.'), headers: { 'retry-after': String(retryAfter) } };
    if (iksFaults.takeServerError()) return ibmError(503, 'E0040', 'The service is temporarily unavailable.');
    let m: RegExpExecArray | null;
    if (req.method === 'GET' && req.path === '/v2/getCluster') {
      const c = find(req.query.get('cluster') ?? '');
      return c ? { status: 200, body: c } : ibmError(404, 'G0004', `The specified cluster could not be found. Target the region of the cluster.`);
    }
    if (req.method === 'GET' && (m = /^\/v1\/clusters\/([^/]+)\/(workerpools|workers)$/.exec(req.path))) {
      const c = find(decodeURIComponent(m[1]!));
      if (!c) return ibmError(404, 'G0004', 'The specified cluster could not be found.');
      return { status: 200, body: m[2] === 'workerpools' ? pools.get(c.id) : workers.get(c.id) };
    }
    if ((m = /^\/v1\/clusters\/([^/]+)\/workerpools\/([^/]+)(?:\/zones(?:\/([^/]+))?)?$/.exec(req.path))) {
      const c = find(decodeURIComponent(m[1]!));
      if (!c) return ibmError(404, 'G0004', 'The specified cluster could not be found.');
      const pool = pools.get(c.id)!.find((p) => p.id === decodeURIComponent(m![2]!) || p.name === decodeURIComponent(m![2]!));
      if (!pool) return ibmError(404, 'G0005', 'The specified worker pool could not be found.');
      const zonesPath = req.path.includes('/zones');
      if (req.method === 'GET' && !zonesPath) return { status: 200, body: pool };
      const refused = iksFaults.get().refusePoolChange;
      if (refused && req.method !== 'GET') {
        iksFaults.set({ refusePoolChange: undefined });
        return ibmError(refused.status, refused.code, refused.description);
      }
      if (req.method === 'PATCH' && !zonesPath) {
        const b = req.body as { state?: string; sizePerZone?: number };
        if (b.state !== 'resizing' || !Number.isInteger(b.sizePerZone) || b.sizePerZone! < 1) return ibmError(400, 'E0034', 'The request body is not valid: state must be "resizing" and sizePerZone a positive integer.');
        pool.sizePerZone = b.sizePerZone!;
        for (const z of pool.zones) fitZone(c.id, pool, z.id);
        return { status: 204 };
      }
      if (req.method === 'POST' && zonesPath && !m[3]) {
        const b = req.body as { id?: string };
        if (!b.id) return ibmError(400, 'E0034', 'The request body is not valid: id (the zone) is required.');
        if (pool.zones.some((z) => z.id === b.id)) return ibmError(409, 'E0092', `The zone ${b.id} is already part of the worker pool.`);
        pool.zones.push({ id: b.id, workerCount: 0 });
        fitZone(c.id, pool, b.id);
        return { status: 201 };
      }
      if (req.method === 'DELETE' && zonesPath && m[3]) {
        const zone = decodeURIComponent(m[3]);
        if (!pool.zones.some((z) => z.id === zone)) return ibmError(404, 'E0093', `The zone ${zone} is not part of the worker pool.`);
        pool.zones = pool.zones.filter((z) => z.id !== zone);
        fitZone(c.id, pool, zone, 0);
        return { status: 204 };
      }
    }
    return ibmError(404, 'E0001', `Not found: ${req.method} ${req.path}`);
  };

  const [iamServer, iksServer] = await Promise.all([listen(iam, { port: o.iamPort, tls: o.tls }), listen(iks, { port: o.iksPort, tls: o.tls })]);
  return {
    iamUrl: iamServer.url,
    iksUrl: iksServer.url,
    iamFaults,
    iksFaults,
    tokensIssued: () => issued,
    /** Whether an Authorization header carries a live token of this IAM (for other IBM simulators). */
    authorized: (authorization: string | undefined) => {
      const token = authorization?.startsWith('Bearer ') ? authorization.slice(7) : '';
      const exp = tokens.get(token);
      return !!exp && exp > Math.floor(Date.now() / 1000);
    },
    close: async () => {
      for (const t of later) clearTimeout(t);
      await iamServer.close();
      await iksServer.close();
    },
  };
}
