/**
 * When is a worker-pool change done? Only when every worker of the pool in every zone is deployed
 * and healthy, and each zone has exactly the pool's size (shared/api/ibmcloud.md). Pure: workflows,
 * activities and tests share it.
 */
export interface PoolView {
  id: string;
  sizePerZone: number;
  zones: { id: string }[];
}
export interface WorkerView {
  id: string;
  poolid: string;
  location: string;
  state: string;
  status: string;
  /** VPC clusters report these instead of state/status. */
  lifecycle?: { actualState?: string };
  health?: { state?: string; message?: string };
}

export interface PoolReadiness {
  ready: boolean;
  /** What is still going on, per zone (for progress). */
  waiting: string[];
  /** Workers that will not become ready by waiting: the change failed. */
  failed: { id: string; zone: string; why: string }[];
}

const FAILED_STATES = new Set(['provision_failed', 'deploy_failed', 'failed', 'critical']);

function workerState(w: WorkerView): 'ready' | 'going' | 'failed' | 'pending' {
  const actual = w.lifecycle?.actualState;
  if (actual) {
    if (actual === 'deleting' || actual === 'deleted') return 'going';
    if (actual === 'deployed') return w.health?.state === 'critical' ? 'failed' : w.health?.state && w.health.state !== 'normal' ? 'pending' : 'ready';
    return FAILED_STATES.has(actual) ? 'failed' : 'pending';
  }
  if (w.state === 'deleting' || w.state === 'deleted') return 'going';
  if (FAILED_STATES.has(w.state)) return 'failed';
  return w.state === 'normal' && w.status === 'Ready' ? 'ready' : 'pending';
}

export function poolReadiness(pool: PoolView, workers: WorkerView[]): PoolReadiness {
  const waiting: string[] = [];
  const failed: PoolReadiness['failed'] = [];
  const mine = workers.filter((w) => w.poolid === pool.id);
  const zones = new Set(pool.zones.map((z) => z.id));
  for (const w of mine) {
    const s = workerState(w);
    if (s === 'failed' && zones.has(w.location)) failed.push({ id: w.id, zone: w.location, why: w.health?.message || w.status || w.state });
  }
  for (const z of pool.zones) {
    const inZone = mine.filter((w) => w.location === z.id);
    const ready = inZone.filter((w) => workerState(w) === 'ready').length;
    const pending = inZone.filter((w) => workerState(w) === 'pending').length;
    const going = inZone.filter((w) => workerState(w) === 'going').length;
    if (ready !== pool.sizePerZone || pending || going) waiting.push(`${z.id}: ${ready}/${pool.sizePerZone} ready${pending ? `, ${pending} provisioning` : ''}${going ? `, ${going} leaving` : ''}`);
  }
  // Workers still in a zone the pool no longer has are on their way out.
  const gone = mine.filter((w) => !zones.has(w.location) && workerState(w) !== 'failed');
  if (gone.length) waiting.push(`${gone.length} worker(s) leaving zones removed from the pool`);
  return { ready: waiting.length === 0 && failed.length === 0, waiting, failed };
}
