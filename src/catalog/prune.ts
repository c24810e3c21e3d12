import { posix } from 'node:path';
import {
  catalogStatus,
  isContainedProductPath,
  isProductBackupFolder,
  parseNsxBackupFolderName,
  parseNsxvBackupFileName,
  parseVcenterBackupFolderName,
  productFolderOf,
  type BackupSetManifest,
  type CatalogStatus,
} from '../domain/backup-set.js';
import { decideRetention, type RetentionDecision, type RetentionPolicy } from '../domain/retention.js';
import { filesOf, manifestOf, readCatalog, setDirOf, updateManifest, withSetLock, type Catalog } from './catalog.js';
import type { BackupStore } from './store.js';

/** Whether a set's run has ended, as Temporal says; undefined when it cannot tell. */
export type RunLiveness = (m: BackupSetManifest) => Promise<boolean | undefined>;

/** Each set with the status the catalog shows (damaged, abandoned and the stored ones). */
export async function catalogStatuses(catalog: Catalog, nowMs: number, liveness?: RunLiveness): Promise<Map<string, CatalogStatus>> {
  const out = new Map<string, CatalogStatus>();
  for (const m of catalog.sets) {
    const closed = m.status === 'running' && liveness ? await liveness(m).catch(() => undefined) : undefined;
    out.set(m.setId, catalogStatus(m, closed, nowMs));
  }
  return out;
}

export interface PlannedSet {
  setId: string;
  /** Files that go, relative to the target directory. */
  files: string[];
  /** Why nothing of this set is deleted (a manifest that points outside the product folders). */
  refused?: string;
}

export interface PruneReport {
  dryRun: boolean;
  decision: RetentionDecision;
  sets: PlannedSet[];
  /** Every file deleted (or, on a dry run, that would be), relative to the target directory. */
  files: string[];
  bytes: number;
  unreadable: { setId: string; reason: string }[];
  /** Sets left for the next prune (changed while this one ran, or a delete failed). */
  skipped: { setId: string; reason: string }[];
}

type ProductFolder = { folder: string; t: number };

/**
 * The product folders a manifest refers to: those it recorded, those its files lie in, and — for
 * a backup whose run ended before it could look (terminated, timed out) — the folders the product
 * named after that backup's start time, to the second.
 */
function foldersOf(m: BackupSetManifest, onTarget: ProductFolder[]): string[] {
  const recorded = [...(m.nsx?.folders ?? []), ...(m.vcenter?.folders ?? [])];
  const ofFiles = filesOf(m).map((f) => productFolderOf(f.path)).filter((f): f is string => !!f);
  const byStart = (root: string, part: { startTime?: string; folders?: string[]; files: unknown[] } | undefined) => {
    if (!part?.startTime || part.folders?.length || part.files.length) return [];
    const second = Math.floor(Date.parse(part.startTime) / 1000) * 1000;
    return onTarget.filter((f) => f.folder.startsWith(`${root}/`) && f.t === second).map((f) => f.folder);
  };
  return [...new Set([...recorded, ...ofFiles, ...byStart('nsx', m.nsx), ...byStart('vcenter', m.vcenter)])];
}

/** A manifest that names anything outside this target's product folders is refused whole. */
export function outsideProductFolders(m: BackupSetManifest): string | undefined {
  const badFile = filesOf(m).find((f) => !isContainedProductPath(f.path));
  if (badFile) return `lists "${badFile.path}", which is not a path under this target's nsx/ or vcenter/ folder`;
  const badFolder = [...(m.nsx?.folders ?? []), ...(m.vcenter?.folders ?? [])].find((f) => !isProductBackupFolder(f));
  if (badFolder) return `records folder "${badFolder}", which is not an NSX or vCenter backup folder under this target`;
  return undefined;
}

async function filesUnder(store: BackupStore, folder: string): Promise<{ path: string; size: number }[]> {
  const kind = await store.exists(folder);
  if (kind === '-') {
    // An NSX-V backup is one file.
    const e = (await store.list(posix.dirname(folder))).find((x) => x.name === posix.basename(folder));
    return e ? [{ path: folder, size: e.size }] : [];
  }
  if (kind !== 'd') return [];
  const out: { path: string; size: number }[] = [];
  for (const e of await store.list(folder)) {
    const p = `${folder}/${e.name}`;
    if (e.type === 'd') out.push(...(await filesUnder(store, p)));
    else if (e.type === '-') out.push({ path: p, size: e.size });
  }
  return out;
}

/**
 * What prune would delete, and why: pure planning over the target (reads only). The retention
 * decision uses the catalog statuses; files of an expired set go unless a kept set lists them or
 * lies in the same product folder. A manifest naming anything outside the product folders is refused.
 */
export async function planPrune(store: BackupStore, catalog: Catalog, policy: RetentionPolicy, o: { nowMs: number; liveness?: RunLiveness }): Promise<Omit<PruneReport, 'dryRun' | 'skipped'>> {
  const statuses = await catalogStatuses(catalog, o.nowMs, o.liveness);
  const decision = decideRetention(
    catalog.sets.map((m) => ({ setId: m.setId, status: statuses.get(m.setId)!, startedAtMs: Date.parse(m.startedAt), restoreTested: !!m.restoreTested })),
    policy,
    o.nowMs,
  );
  const expiredIds = new Set(decision.expire.map((e) => e.setId));
  const kept = catalog.sets.filter((m) => !expiredIds.has(m.setId));
  const protectedFiles = new Set(kept.flatMap((m) => filesOf(m).map((f) => f.path)));
  const onTarget = await productFolders(store);
  const protectedFolders = new Set(kept.flatMap((m) => foldersOf(m, onTarget)));
  const sizes = new Map<string, number>();
  const sets: PlannedSet[] = [];
  for (const m of catalog.sets.filter((x) => expiredIds.has(x.setId))) {
    const refused = outsideProductFolders(m);
    if (refused) {
      sets.push({ setId: m.setId, files: [], refused });
      continue;
    }
    const files = new Set<string>();
    for (const f of filesOf(m)) {
      if (protectedFiles.has(f.path)) continue;
      files.add(f.path);
      sizes.set(f.path, f.size);
    }
    for (const folder of foldersOf(m, onTarget)) {
      if (protectedFolders.has(folder)) continue;
      for (const f of await filesUnder(store, folder)) {
        if (protectedFiles.has(f.path)) continue;
        files.add(f.path);
        sizes.set(f.path, f.size);
      }
    }
    sets.push({ setId: m.setId, files: [...files].sort() });
  }
  const all = sets.flatMap((s) => s.files);
  return { decision, sets, files: all, bytes: all.reduce((n, f) => n + (sizes.get(f) ?? 0), 0), unreadable: catalog.unreadable };
}

const ROOTS = new Set(['', 'nsx', 'vcenter', 'sets', 'nsx/cluster-node-backups', 'nsx/inventory-summary']);

/** Removes now-empty folders upwards, stopping at the product roots and the target directory. */
async function removeEmptyParents(store: BackupStore, dir: string): Promise<void> {
  for (let d = dir; !ROOTS.has(d) && d !== '.'; d = posix.dirname(d)) {
    if ((await store.exists(d)) !== 'd' || (await store.list(d)).length > 0) return;
    await store.rmdir(d);
  }
}

/** Deletes one file of a product folder, and the folders it leaves empty. Never anything else. */
async function deleteProductFile(store: BackupStore, rel: string, onDelete?: (path: string) => void): Promise<void> {
  if (!isContainedProductPath(rel)) throw new Error(`refusing to delete "${rel}": not under nsx/ or vcenter/`);
  if ((await store.exists(rel)) === '-') await store.remove(rel);
  onDelete?.(rel);
  await removeEmptyParents(store, posix.dirname(rel));
}

/**
 * Applies the retention policy to a target: the plan above, then for each expired set — marked
 * `deleting` first (so an interrupted prune is visible and the next one finishes it) — its files,
 * then its manifest. A set whose manifest changed since it was read is left for the next prune.
 */
export async function pruneTarget(
  store: BackupStore,
  policy: RetentionPolicy,
  o: { dryRun: boolean; nowMs: number; liveness?: RunLiveness; onDelete?: (path: string) => void },
): Promise<PruneReport> {
  const catalog = await readCatalog(store);
  const plan = await planPrune(store, catalog, policy, o);
  const report: PruneReport = { dryRun: o.dryRun, ...plan, skipped: [] };
  if (o.dryRun) return report;
  const read = new Map(catalog.sets.map((m) => [m.setId, m]));
  for (const s of plan.sets) {
    if (s.refused) continue;
    const seen = read.get(s.setId)!;
    let changed = false;
    await updateManifest(store, s.setId, 'prune', (m) => {
      if (!m || (m.revision ?? 0) !== (seen.revision ?? 0) || m.status !== seen.status) {
        changed = true;
        return undefined;
      }
      return m.status === 'deleting' ? undefined : { ...m, status: 'deleting', statusBeforeDeleting: m.status };
    });
    if (changed) {
      report.skipped.push({ setId: s.setId, reason: 'its manifest changed while prune ran; the next prune decides again' });
      continue;
    }
    for (const rel of s.files) await deleteProductFile(store, rel, o.onDelete);
    await withSetLock(store, s.setId, 'prune', async () => {
      if ((await store.exists(manifestOf(s.setId))) === '-') await store.remove(manifestOf(s.setId));
    });
    o.onDelete?.(manifestOf(s.setId));
    await removeEmptyParents(store, setDirOf(s.setId));
  }
  return report;
}

export interface OrphanReport {
  dryRun: boolean;
  /** Product backup folders that no manifest refers to and that are older than the newest set. */
  orphans: { folder: string; startedAt: string; files: number; bytes: number }[];
  files: string[];
  bytes: number;
  /** Why nothing was deleted, when something stopped it. */
  refused?: string;
}

/** Every NSX and vCenter backup folder on the target (or under one root), recognised by the products' naming. */
export async function productFolders(store: BackupStore, roots: readonly ('nsx' | 'vcenter')[] = ['nsx', 'vcenter']): Promise<ProductFolder[]> {
  const out: ProductFolder[] = [];
  const nodes = 'nsx/cluster-node-backups';
  if (roots.includes('nsx') && (await store.exists('nsx')) === 'd') {
    // NSX-V: one file per backup, directly in its backup directory.
    for (const f of await store.list('nsx')) {
      const t = f.type === '-' ? parseNsxvBackupFileName(f.name) : undefined;
      if (t !== undefined) out.push({ folder: `nsx/${f.name}`, t });
    }
  }
  if (roots.includes('nsx') && (await store.exists(nodes)) === 'd') {
    for (const node of await store.list(nodes)) {
      if (node.type !== 'd') continue;
      for (const b of await store.list(`${nodes}/${node.name}`)) {
        const t = b.type === 'd' ? parseNsxBackupFolderName(b.name) : undefined;
        if (t !== undefined) out.push({ folder: `${nodes}/${node.name}/${b.name}`, t });
      }
    }
  }
  const walk = async (rel: string, depth: number): Promise<void> => {
    if ((await store.exists(rel)) !== 'd') return;
    for (const e of await store.list(rel)) {
      if (e.type !== 'd') continue;
      const p = `${rel}/${e.name}`;
      const parsed = parseVcenterBackupFolderName(e.name);
      if (parsed) out.push({ folder: p, t: parsed.startMs });
      else if (depth < 3) await walk(p, depth + 1);
    }
  };
  if (roots.includes('vcenter')) await walk('vcenter', 0);
  return out.sort((a, b) => a.t - b.t || a.folder.localeCompare(b.folder));
}

/** Product folders on the target that no manifest refers to, whatever their age. */
export async function unreferencedFolders(store: BackupStore, catalog?: Catalog): Promise<ProductFolder[]> {
  const sets = (catalog ?? (await readCatalog(store))).sets;
  const onTarget = await productFolders(store);
  const referenced = new Set(sets.flatMap((m) => foldersOf(m, onTarget)));
  return onTarget.filter((f) => !referenced.has(f.folder));
}

/**
 * Product folders on the target that no manifest lists (left by runs that were killed before they
 * could record them, or by older versions), older than the newest set so that no run in flight
 * loses its files. Deleted only when asked, and never while a manifest is unreadable.
 */
export async function pruneOrphans(store: BackupStore, o: { dryRun: boolean; onDelete?: (path: string) => void }): Promise<OrphanReport> {
  const catalog = await readCatalog(store);
  const newest = Math.max(...catalog.sets.map((m) => Date.parse(m.startedAt)), -Infinity);
  const report: OrphanReport = { dryRun: o.dryRun, orphans: [], files: [], bytes: 0 };
  for (const { folder, t } of await unreferencedFolders(store, catalog)) {
    if (!(t < Math.floor(newest / 1000) * 1000)) continue;
    const files = await filesUnder(store, folder);
    report.orphans.push({ folder, startedAt: new Date(t).toISOString(), files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) });
    report.files.push(...files.map((f) => f.path));
    report.bytes += files.reduce((n, f) => n + f.size, 0);
  }
  if (catalog.unreadable.length) {
    report.refused = `unreadable manifest(s) ${catalog.unreadable.map((u) => u.setId).join(', ')}: they may list some of these folders; fix or remove them first`;
  }
  if (o.dryRun || report.refused) return report;
  for (const orphan of report.orphans) {
    for (const f of await filesUnder(store, orphan.folder)) await deleteProductFile(store, f.path, o.onDelete);
    await removeEmptyParents(store, orphan.folder);
  }
  return report;
}
