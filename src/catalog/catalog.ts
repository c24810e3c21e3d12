import { randomBytes } from 'node:crypto';
import { MANIFEST_NAME, isPlainSetId, type BackupSetManifest, type DrillRecord, type FileRecord } from '../domain/backup-set.js';
import type { BackupStore } from './store.js';
import { mapLimit } from '../util/concurrency.js';

export class SetNotFoundError extends Error {
  override readonly name = 'BackupSetNotFound';
}

/** A set id that is not a plain name: bad input, never a path. */
export class BadSetIdError extends Error {
  override readonly name = 'BadSetId';
  constructor(setId: string) {
    super(`"${setId}" is not a backup set id (set ids are plain names such as tokyo-1-20261125T020000Z)`);
  }
}

export class ManifestLockedError extends Error {
  override readonly name = 'ManifestLocked';
}

/** Where the catalog lives below the target directory. */
export const setDirOf = (setId: string) => `sets/${checkedSetId(setId)}`;
export const manifestOf = (setId: string) => `${setDirOf(setId)}/${MANIFEST_NAME}`;
const lockOf = (setId: string) => `${setDirOf(setId)}/.lock`;

export function checkedSetId(setId: string): string {
  if (!isPlainSetId(setId)) throw new BadSetIdError(setId);
  return setId;
}

export interface Catalog {
  sets: BackupSetManifest[];
  /** Manifests that could not be read: named, never silently skipped. */
  unreadable: { setId: string; reason: string }[];
}

function looksLikeManifest(m: unknown): m is BackupSetManifest {
  const x = m as BackupSetManifest;
  return !!x && typeof x === 'object' && x.schemaVersion === 1 && typeof x.setId === 'string' && typeof x.status === 'string';
}

async function readIfPresent(store: BackupStore, setId: string): Promise<BackupSetManifest | undefined> {
  const path = manifestOf(setId);
  const text = await store.readTextIfPresent(path);
  if (text === undefined) return undefined;
  const parsed: unknown = JSON.parse(text);
  if (!looksLikeManifest(parsed) || parsed.setId !== setId) throw new Error(`${path} is not the sddc-ops backup-set manifest of ${setId}`);
  return parsed;
}

export async function readManifest(store: BackupStore, setId: string): Promise<BackupSetManifest> {
  const m = await readIfPresent(store, setId);
  if (!m) throw new SetNotFoundError(`no backup set ${setId}: ${manifestOf(setId)} does not exist on ${store.where}`);
  return m;
}

const MANIFEST_READS_IN_FLIGHT = 32;

/** Every backup set on the target, newest first: the catalog lives with the backups. */
export async function readCatalog(store: BackupStore): Promise<Catalog> {
  const out: Catalog = { sets: [], unreadable: [] };
  if ((await store.exists('sets')) !== 'd') return out;
  const names = (await store.list('sets')).filter((e) => e.type === 'd').map((e) => e.name);
  // Many at a time over the one session: each read is a few round trips, and a catalog has thousands of sets.
  const results = await mapLimit(names, MANIFEST_READS_IN_FLIGHT, async (name) => {
    if (!isPlainSetId(name)) return { setId: name, reason: 'not a set folder name sddc-ops writes' };
    try {
      return (await readIfPresent(store, name)) ?? null; // null: a set folder whose manifest is not written yet
    } catch (err) {
      return { setId: name, reason: (err as Error).message };
    }
  });
  for (const r of results) {
    if (r === null) continue;
    if ('schemaVersion' in r) out.sets.push(r);
    else out.unreadable.push(r);
  }
  out.sets.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.setId.localeCompare(a.setId));
  return out;
}

export function filesOf(m: BackupSetManifest): FileRecord[] {
  return [...(m.nsx?.files ?? []), ...(m.vcenter?.files ?? [])];
}

/** A lock that outlives this is taken to be left by a crashed holder (updates take milliseconds). */
const STALE_LOCK_MS = 60_000;
const LOCK_WAIT_MS = 30_000;

/**
 * Who holds a lock, and since when; undefined when it is gone. A lock is created, then written: a
 * reader can see it empty in between, or for ever if its writer crashed there — then its age is
 * the file's own.
 */
async function lockHolder(store: BackupStore, lock: string): Promise<{ holder: string; at: number } | undefined> {
  const text = await store.readText(lock).catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as { holder: string; at: number };
  } catch {
    const dir = lock.slice(0, lock.lastIndexOf('/'));
    const entry = (await store.list(dir).catch(() => [])).find((e) => `${dir}/${e.name}` === lock);
    return entry ? { holder: 'a writer that had not written its lock yet', at: entry.modifyTime || Date.now() } : undefined;
  }
}

/**
 * Takes the set's lock (a file created with CREAT|EXCL), runs `fn`, releases it. Every writer of a
 * manifest — the backup run, `backup verify`, app-data acknowledgements, prune — goes through here,
 * so two concurrent read-modify-writes never lose one another's change.
 */
export async function withSetLock<T>(store: BackupStore, setId: string, holder: string, fn: () => Promise<T>): Promise<T> {
  const lock = lockOf(setId);
  const token = `${holder} ${randomBytes(6).toString('hex')}`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
    if (await store.createExclusive(lock, JSON.stringify({ holder: token, at: Date.now() }))) break;
    const held = await lockHolder(store, lock);
    if (held && Date.now() - held.at > STALE_LOCK_MS) {
      await store.remove(lock).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) throw new ManifestLockedError(`backup set ${setId} is being updated by ${held?.holder ?? 'another writer'}; try again`);
    await new Promise((r) => setTimeout(r, wait + Math.random() * wait));
  }
  try {
    return await fn();
  } finally {
    if ((await lockHolder(store, lock))?.holder === token) await store.remove(lock).catch(() => undefined);
  }
}

/**
 * Read-modify-write of one manifest under its lock. `change` gets the manifest on the target (or
 * undefined) and returns the next one, or undefined to leave it as it is. The revision is bumped.
 */
export async function updateManifest(
  store: BackupStore,
  setId: string,
  holder: string,
  change: (current: BackupSetManifest | undefined) => BackupSetManifest | undefined,
): Promise<BackupSetManifest | undefined> {
  if ((await store.exists(setDirOf(setId))) !== 'd') {
    // Nothing to lock yet: create the set's folder only when there is something to write.
    if (!change(undefined)) return undefined;
    await store.mkdirp(setDirOf(setId));
  }
  return withSetLock(store, setId, holder, async () => {
    const current = await readIfPresent(store, setId);
    const next = change(current);
    if (!next) return current;
    const written = { ...next, revision: (current?.revision ?? 0) + 1 };
    await store.writeAtomic(manifestOf(setId), JSON.stringify(written, null, 2) + '\n');
    return written;
  });
}

export interface ReverifyResult {
  ok: boolean;
  checked: number;
  problems: string[];
}

/** Records a verification in the manifest (verifiedAt moves only on success), under the set's lock. */
export async function recordVerification(store: BackupStore, setId: string, at: string, result: ReverifyResult): Promise<BackupSetManifest> {
  const next = await updateManifest(store, setId, 'backup verify', (m) => {
    if (!m) throw new SetNotFoundError(`backup set ${setId} disappeared from ${store.where} while it was being verified`);
    return {
      ...m,
      ...(result.ok ? { verifiedAt: at } : {}),
      verifications: [...(m.verifications ?? []), { at, ok: result.ok, problems: result.problems }].slice(-20),
    };
  });
  return next!;
}

/** Records a restore drill of the set; a passed one makes it the set's `restoreTested`. Under the set's lock. */
export async function recordDrill(store: BackupStore, setId: string, record: DrillRecord): Promise<BackupSetManifest> {
  const next = await updateManifest(store, setId, 'restore drill', (m) => {
    if (!m) throw new SetNotFoundError(`backup set ${setId} disappeared from ${store.where} while it was being drilled`);
    if (m.drills?.some((d) => d.drillRun === record.drillRun && d.ok === record.ok)) return undefined; // a retry: already recorded
    return {
      ...m,
      ...(record.ok ? { restoreTested: { at: record.at, drillRun: record.drillRun } } : {}),
      drills: [...(m.drills ?? []), record].slice(-10),
    };
  });
  return next!;
}

export { MANIFEST_NAME };
