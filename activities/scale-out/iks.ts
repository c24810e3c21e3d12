import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import type { BackupTarget, IbmCloudConfig, IksClusterConfig } from '../../src/config/schema.js';
import type { AppDataAck, IksRecord } from '../../src/domain/backup-set.js';
import { poolReadiness } from '../../src/domain/iks-pool.js';
import { readCatalog } from '../../src/catalog/catalog.js';
import { SftpStore } from '../../src/catalog/store.js';
import { HttpError } from '../../src/providers/http.js';
import type { IksClient, IksWorkerPool } from '../../src/providers/ibm/iks.js';
import { iksRecordOf } from '../backup/iks.js';
import { iksClient, withTargetSftp } from '../endpoints.js';
import { guarded, nonRetryable } from '../failures.js';

/** A change to one worker pool: its size in every zone, or one more zone (or, to undo that, one less). */
export type PoolChange = { kind: 'resize'; sizePerZone: number } | { kind: 'add-zone'; zone: string; privateVlan?: string; publicVlan?: string } | { kind: 'remove-zone'; zone: string };

export interface IksTarget {
  ibm: IbmCloudConfig;
  cluster: IksClusterConfig;
  pool: string;
}

export interface IksChangePrecheck {
  clusterId: string;
  clusterName: string;
  pool: { id: string; name: string; sizePerZone: number; zones: string[] };
  workersBefore: number;
  workersAfter: number;
  /** The newest app-data acknowledgement of the cluster's owners in the catalog, if any. */
  ack?: AppDataAck & { setId: string };
}

const poolOf = (p: IksWorkerPool) => ({ id: p.id, name: p.name, sizePerZone: p.sizePerZone, zones: p.zones.map((z) => z.id) });

/** A pool the cluster does not have is named with the ones it has. */
async function findPool(iks: IksClient, cluster: string, pool: string): Promise<IksWorkerPool> {
  try {
    return await iks.getWorkerPool(cluster, pool);
  } catch (err) {
    if (!(err instanceof HttpError) || err.status !== 404) throw err;
    const pools = await iks.listWorkerPools(cluster);
    throw nonRetryable('ScaleOutPrecheckFailed', `nothing was changed: cluster ${cluster} has no worker pool ${pool} (pools: ${pools.map((p) => p.name).join(', ') || 'none'})`);
  }
}

/** The newest acknowledgement the cluster's app owners gave, across the site's backup sets. */
async function newestAck(target: BackupTarget, clusterId: string): Promise<(AppDataAck & { setId: string }) | undefined> {
  return withTargetSftp(target, async (sftp) => {
    let best: (AppDataAck & { setId: string }) | undefined;
    for (const m of (await readCatalog(new SftpStore(sftp, target.directory))).sets) {
      const a = m.appData?.[clusterId];
      if (a && (!best || Date.parse(a.at) > Date.parse(best.at))) best = { ...a, setId: m.setId };
    }
    return best;
  });
}

/**
 * Before a pool change, read-only: the cluster is `normal` with a healthy master, the pool exists and
 * is settled, the change changes something; and the owners' newest app-data acknowledgement.
 */
export async function precheckIksChange(i: IksTarget & { change: PoolChange; target: BackupTarget }): Promise<IksChangePrecheck> {
  return guarded(async () => {
    const iks = await iksClient(i.ibm, i.cluster);
    const k = await iks.getCluster(i.cluster.id);
    const problems: string[] = [];
    const health = k.lifecycle?.masterHealth ?? k.masterHealth;
    if (k.state !== 'normal') problems.push(`cluster ${k.name} is ${k.state}, not normal`);
    if (health !== 'normal') problems.push(`the master of ${k.name} is ${health}`);
    const pool = await findPool(iks, k.id, i.pool);
    const zones = pool.zones.map((z) => z.id);
    const now = poolReadiness(pool, await iks.listWorkers(k.id));
    if (!now.ready) problems.push(`worker pool ${pool.name} is still changing (${[...now.waiting, ...now.failed.map((f) => `${f.id} ${f.why}`)].join('; ')})`);
    const c = i.change;
    if (c.kind === 'resize' && c.sizePerZone === pool.sizePerZone) problems.push(`worker pool ${pool.name} already has ${c.sizePerZone} worker(s) per zone`);
    if (c.kind === 'add-zone' && zones.includes(c.zone)) problems.push(`worker pool ${pool.name} already spans zone ${c.zone}`);
    if (c.kind === 'remove-zone' && !zones.includes(c.zone)) problems.push(`worker pool ${pool.name} has no zone ${c.zone}`);
    if (problems.length) throw nonRetryable('ScaleOutPrecheckFailed', `nothing was changed: ${problems.join('; ')}`, { problems });
    const zonesAfter = c.kind === 'add-zone' ? zones.length + 1 : c.kind === 'remove-zone' ? zones.length - 1 : zones.length;
    const ack = await newestAck(i.target, k.id);
    return {
      clusterId: k.id,
      clusterName: k.name,
      pool: poolOf(pool),
      workersBefore: pool.sizePerZone * zones.length,
      workersAfter: (c.kind === 'resize' ? c.sizePerZone : pool.sizePerZone) * zonesAfter,
      ...(ack ? { ack } : {}),
    };
  });
}

/** Asks IKS for the change; a pool already as asked (a retry, a restarted worker) is left alone. */
export async function changeWorkerPool(i: IksTarget & { change: PoolChange }): Promise<{ how: 'requested' | 'already-so' }> {
  return guarded(async () => {
    const iks = await iksClient(i.ibm, i.cluster);
    const pool = await iks.getWorkerPool(i.cluster.id, i.pool);
    const zones = pool.zones.map((z) => z.id);
    const c = i.change;
    if (c.kind === 'resize') {
      if (pool.sizePerZone === c.sizePerZone) return { how: 'already-so' as const };
      await iks.resizeWorkerPool(i.cluster.id, pool.id, c.sizePerZone);
    } else if (c.kind === 'add-zone') {
      if (zones.includes(c.zone)) return { how: 'already-so' as const };
      await iks.addWorkerPoolZone(i.cluster.id, pool.id, { id: c.zone, ...(c.privateVlan ? { privateVlan: c.privateVlan } : {}), ...(c.publicVlan ? { publicVlan: c.publicVlan } : {}) });
    } else {
      if (!zones.includes(c.zone)) return { how: 'already-so' as const };
      await iks.removeWorkerPoolZone(i.cluster.id, pool.id, c.zone);
    }
    return { how: 'requested' as const };
  });
}

/**
 * One look at the pool: done when every worker in every zone is deployed and healthy. Not yet:
 * a retryable, benign `WorkerPoolNotReady` (logged at DEBUG; the workflow's retry policy paces the looks — no thread is held
 * for the tens of minutes IKS takes). A worker that failed: `IksWorkerFailed`, which no wait fixes.
 */
export async function awaitWorkerPool(i: IksTarget): Promise<{ workers: number }> {
  return guarded(async () => {
    const iks = await iksClient(i.ibm, i.cluster);
    const pool = await iks.getWorkerPool(i.cluster.id, i.pool);
    const r = poolReadiness(pool, await iks.listWorkers(i.cluster.id));
    if (r.failed.length) {
      throw nonRetryable('IksWorkerFailed', `worker pool ${pool.name}: ${r.failed.map((f) => `worker ${f.id} in ${f.zone} failed (${f.why})`).join('; ')}`, { failed: r.failed });
    }
    if (!r.ready) throw ApplicationFailure.create({ type: 'WorkerPoolNotReady', category: ApplicationFailureCategory.BENIGN, message: `worker pool ${pool.name} is not ready yet: ${r.waiting.join('; ')}` });
    return { workers: pool.sizePerZone * pool.zones.length };
  });
}

/** The cluster's etcd record (master, state, the provider's backup policy), taken before and after a change. */
export async function iksEtcdRecord(i: Omit<IksTarget, 'pool'>): Promise<IksRecord> {
  return guarded(async () => iksRecordOf(await (await iksClient(i.ibm, i.cluster)).getCluster(i.cluster.id), i.ibm));
}
