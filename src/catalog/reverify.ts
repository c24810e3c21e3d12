import { posix } from 'node:path';
import type { PinnedSftp } from '../providers/sftp/client.js';
import { isContainedProductPath, type BackupSetManifest } from '../domain/backup-set.js';
import { filesOf, type ReverifyResult } from './catalog.js';

/**
 * Re-hashes every file the manifest lists and compares size and SHA-256 (bit rot, truncation,
 * deletion). A listed path outside the target's product folders is a problem, never read.
 */
/** Where a verification got to: the files before `next` are checked, with these problems. */
export interface ReverifyProgress {
  next: number;
  problems: string[];
  /** Bytes of file `next` hashed so far (progress only: a restart hashes that file again). */
  bytes?: number;
}

export async function reverifySet(
  sftp: PinnedSftp,
  directory: string,
  manifest: BackupSetManifest,
  o: { resumeFrom?: ReverifyProgress; onProgress?: (p: ReverifyProgress) => void } = {},
): Promise<ReverifyResult> {
  const problems: string[] = [...(o.resumeFrom?.problems ?? [])];
  const files = filesOf(manifest);
  for (let i = o.resumeFrom?.next ?? 0; i < files.length; i++) {
    const f = files[i]!;
    o.onProgress?.({ next: i, problems: [...problems], bytes: 0 });
    if (!isContainedProductPath(f.path)) {
      problems.push(`${f.path}: not a path under this target's nsx/ or vcenter/ folder (not read)`);
      continue;
    }
    const abs = posix.join(directory, f.path);
    if ((await sftp.exists(abs)) !== '-') {
      problems.push(`${f.path}: missing`);
      continue;
    }
    const d = await sftp.digest(abs, (bytes) => o.onProgress?.({ next: i, problems: [...problems], bytes }));
    if (d.size !== f.size) problems.push(`${f.path}: size ${d.size}, manifest says ${f.size}`);
    else if (d.sha256 !== f.sha256) problems.push(`${f.path}: SHA-256 differs from the manifest`);
  }
  if (manifest.status === 'complete' && files.length === 0) problems.push('a complete set that lists no files');
  return { ok: problems.length === 0, checked: files.length, problems };
}
