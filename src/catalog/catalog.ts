import { posix } from 'node:path';
import type { PinnedSftp } from '../providers/sftp/client.js';
import { MANIFEST_NAME, targetLayout, type BackupSetManifest } from '../domain/backup-set.js';

export class SetNotFoundError extends Error {
  override readonly name = 'BackupSetNotFound';
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

export async function readManifest(sftp: PinnedSftp, directory: string, setId: string): Promise<BackupSetManifest> {
  const path = targetLayout(directory).manifestPath(setId);
  if ((await sftp.exists(path)) !== '-') throw new SetNotFoundError(`no backup set ${setId}: ${path} does not exist on ${sftp.endpoint.host}`);
  const parsed: unknown = JSON.parse(await sftp.readText(path));
  if (!looksLikeManifest(parsed)) throw new Error(`${path} is not a sddc-ops backup-set manifest`);
  return parsed;
}

/** Every backup set on the target, newest first: the catalog lives with the backups. */
export async function readCatalog(sftp: PinnedSftp, directory: string): Promise<Catalog> {
  const { setsDir } = targetLayout(directory);
  const out: Catalog = { sets: [], unreadable: [] };
  if ((await sftp.exists(setsDir)) !== 'd') return out;
  for (const entry of await sftp.list(setsDir)) {
    if (entry.type !== 'd') continue;
    try {
      out.sets.push(await readManifest(sftp, directory, entry.name));
    } catch (err) {
      if (err instanceof SetNotFoundError) continue; // a set directory whose manifest is not written yet
      out.unreadable.push({ setId: entry.name, reason: (err as Error).message });
    }
  }
  out.sets.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.setId.localeCompare(a.setId));
  return out;
}

export function filesOf(m: BackupSetManifest) {
  return [...(m.nsx?.files ?? []), ...(m.vcenter?.files ?? [])];
}

export interface ReverifyResult {
  ok: boolean;
  checked: number;
  problems: string[];
}

/** Re-hashes every file the manifest lists and compares size and SHA-256 (bit rot, truncation, deletion). */
export async function reverifySet(
  sftp: PinnedSftp,
  directory: string,
  manifest: BackupSetManifest,
  onFile?: (path: string) => void,
): Promise<ReverifyResult> {
  const problems: string[] = [];
  const files = filesOf(manifest);
  for (const f of files) {
    onFile?.(f.path);
    const abs = posix.join(directory, f.path);
    if ((await sftp.exists(abs)) !== '-') {
      problems.push(`${f.path}: missing`);
      continue;
    }
    const d = await sftp.digest(abs);
    if (d.size !== f.size) problems.push(`${f.path}: size ${d.size}, manifest says ${f.size}`);
    else if (d.sha256 !== f.sha256) problems.push(`${f.path}: SHA-256 differs from the manifest`);
  }
  if (manifest.status === 'complete' && files.length === 0) problems.push('a complete set that lists no files');
  return { ok: problems.length === 0, checked: files.length, problems };
}

/** Records a verification in the manifest (verifiedAt moves only on success) and rewrites it atomically. */
export async function recordVerification(sftp: PinnedSftp, directory: string, setId: string, at: string, result: ReverifyResult): Promise<BackupSetManifest> {
  const m = await readManifest(sftp, directory, setId);
  const next: BackupSetManifest = {
    ...m,
    ...(result.ok ? { verifiedAt: at } : {}),
    verifications: [...(m.verifications ?? []), { at, ok: result.ok, problems: result.problems }].slice(-20),
  };
  await sftp.writeFileAtomic(targetLayout(directory).manifestPath(setId), JSON.stringify(next, null, 2) + '\n');
  return next;
}

export { MANIFEST_NAME };
