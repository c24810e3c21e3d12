import { posix } from 'node:path';
import type { PinnedSftp } from '../providers/sftp/client.js';
import { isContainedProductPath, type BackupSetManifest } from '../domain/backup-set.js';
import { filesOf, type ReverifyResult } from './catalog.js';

/**
 * Re-hashes every file the manifest lists and compares size and SHA-256 (bit rot, truncation,
 * deletion). A listed path outside the target's product folders is a problem, never read.
 */
export async function reverifySet(sftp: PinnedSftp, directory: string, manifest: BackupSetManifest, onFile?: (path: string) => void): Promise<ReverifyResult> {
  const problems: string[] = [];
  const files = filesOf(manifest);
  for (const f of files) {
    if (!isContainedProductPath(f.path)) {
      problems.push(`${f.path}: not a path under this target's nsx/ or vcenter/ folder (not read)`);
      continue;
    }
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
