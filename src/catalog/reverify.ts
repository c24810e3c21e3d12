import { posix } from 'node:path';
import type { PinnedSftp } from '../providers/sftp/client.js';
import { isContainedProductPath, type BackupSetManifest, type FileRecord } from '../domain/backup-set.js';
import { filesOf, type ReverifyResult } from './catalog.js';
import { mapLimit, throttled } from '../util/concurrency.js';

/** Where a verification got to: the files before `next` are checked, with these problems. */
export interface ReverifyProgress {
  next: number;
  problems: string[];
  /** Bytes hashed so far of the files from `next` on (progress only: a restart hashes them again). */
  bytes?: number;
}

/** Files hashed at once over the one connection. */
const FILES_IN_PARALLEL = 3;
const PROGRESS_EVERY_MS = 1_000;

/**
 * Re-hashes every file the manifest lists and compares size and SHA-256 (bit rot, truncation,
 * deletion). A listed path outside the target's product folders is a problem, never read. Files
 * are hashed a few at a time; progress names the first file not yet checked, so a restart
 * resumes there (files after it that were done are checked again).
 */
export async function reverifySet(
  sftp: PinnedSftp,
  directory: string,
  manifest: BackupSetManifest,
  o: { resumeFrom?: ReverifyProgress; onProgress?: (p: ReverifyProgress) => void } = {},
): Promise<ReverifyResult> {
  const files = filesOf(manifest);
  const from = o.resumeFrom?.next ?? 0;
  const carried = [...(o.resumeFrom?.problems ?? [])];
  const found: (string[] | undefined)[] = new Array(files.length);
  const inFlight = new Map<number, number>();
  let next = from;
  const progress = (): ReverifyProgress => {
    let bytes = 0;
    for (const n of inFlight.values()) bytes += n;
    return { next, problems: [...carried, ...found.slice(from, next).flatMap((p) => p ?? [])], bytes };
  };
  const bytesBeat = throttled(PROGRESS_EVERY_MS, () => o.onProgress?.(progress()));

  const check = async (f: FileRecord, i: number): Promise<string[]> => {
    if (!isContainedProductPath(f.path)) return [`${f.path}: not a path under this target's nsx/ or vcenter/ folder (not read)`];
    const abs = posix.join(directory, f.path);
    if ((await sftp.exists(abs)) !== '-') return [`${f.path}: missing`];
    const d = await sftp.digest(abs, (bytes) => {
      inFlight.set(i, bytes);
      bytesBeat();
    });
    if (d.size !== f.size) return [`${f.path}: size ${d.size}, manifest says ${f.size}`];
    if (d.sha256 !== f.sha256) return [`${f.path}: SHA-256 differs from the manifest`];
    return [];
  };

  o.onProgress?.(progress());
  await mapLimit(files.slice(from), FILES_IN_PARALLEL, async (f, k) => {
    const i = from + k;
    found[i] = await check(f, i);
    inFlight.delete(i);
    const before = next;
    while (next < files.length && found[next]) next++;
    if (next !== before) o.onProgress?.(progress()); // a new resume point: always reported
  });
  const problems = progress().problems;
  if (manifest.status === 'complete' && files.length === 0) problems.push('a complete set that lists no files');
  return { ok: problems.length === 0, checked: files.length, problems };
}
