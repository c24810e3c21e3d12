import { Context } from '@temporalio/activity';
import type { BackupTarget } from '../src/config/schema.js';
import { withSftp, type PinnedSftp } from '../src/providers/sftp/client.js';
import {
  targetLayout,
  parseNsxBackupFolderName,
  parseVcenterBackupFolderName,
  type BackupSetManifest,
  type FileRecord,
} from '../src/domain/backup-set.js';
import { sftpEndpoint } from './endpoints.js';
import { guarded, nonRetryable } from './failures.js';

/** Folder names carry whole seconds; allow for that and a little clock skew. */
const WINDOW_SLACK_MS = 2_000;

interface Window {
  startMs: number;
  endMs: number;
}

/**
 * The folders of this backup: those named within [start, end] (to the second). Only when none is,
 * allow a little clock skew between the product and us: a backup taken seconds earlier must not
 * be mistaken for this one.
 */
export function pickFolders(candidates: { path: string; t: number }[], w: Window): string[] {
  const from = Math.floor(w.startMs / 1000) * 1000;
  const strict = candidates.filter((c) => c.t >= from && c.t <= w.endMs);
  const chosen = strict.length ? strict : candidates.filter((c) => c.t >= from - WINDOW_SLACK_MS && c.t <= w.endMs + WINDOW_SLACK_MS);
  return chosen.map((c) => c.path).sort();
}

/** Hashes every file of the given folders by streaming over SFTP; collects every problem found. */
async function hashFolders(sftp: PinnedSftp, base: string, folders: string[], what: string): Promise<FileRecord[]> {
  const problems: string[] = [];
  const records: FileRecord[] = [];
  let hashedBytes = 0;
  for (const folder of folders) {
    const files = await sftp.listRecursive(`${base}/${folder}`);
    if (files.length === 0) problems.push(`${folder}: folder is empty`);
    for (const f of files) {
      const rel = `${folder}/${f.path}`;
      const d = await sftp.digest(`${base}/${rel}`, (n) => Context.current().heartbeat({ file: rel, bytes: hashedBytes + n }));
      hashedBytes += d.size;
      if (d.size === 0) problems.push(`${rel}: empty file`);
      if (d.gzipIntact === false) problems.push(`${rel}: damaged gzip stream (${d.gzipError})`);
      if (rel.endsWith('.json')) {
        try {
          JSON.parse(await sftp.readText(`${base}/${rel}`));
        } catch {
          problems.push(`${rel}: not valid JSON`);
        }
      }
      records.push({ path: rel, size: d.size, sha256: d.sha256 });
    }
  }
  if (problems.length) {
    throw nonRetryable('VerificationFailed', `${what} backup failed verification: ${problems.join('; ')}`, { problems });
  }
  return records;
}

export interface VerifyInput {
  target: BackupTarget;
  startMs: number;
  endMs: number;
}

/** Finds the NSX backup folders of this backup (one per manager node) and hashes their files. */
export async function verifyNsxBackup({ target, startMs, endMs }: VerifyInput): Promise<FileRecord[]> {
  return guarded(async () =>
    withSftp(await sftpEndpoint(target), async (sftp) => {
      const { nsxDir } = targetLayout(target.directory);
      const root = `${nsxDir}/cluster-node-backups`;
      const candidates: { path: string; t: number }[] = [];
      if ((await sftp.exists(root)) === 'd') {
        for (const node of await sftp.list(root)) {
          if (node.type !== 'd') continue;
          for (const b of await sftp.list(`${root}/${node.name}`)) {
            const t = b.type === 'd' ? parseNsxBackupFolderName(b.name) : undefined;
            if (t !== undefined) candidates.push({ path: `cluster-node-backups/${node.name}/${b.name}`, t });
          }
        }
      }
      const folders = pickFolders(candidates, { startMs, endMs });
      if (folders.length === 0) {
        throw nonRetryable('VerificationFailed', `NSX reported success but no backup folder from ${new Date(startMs).toISOString()} is under ${root} on ${target.host}`);
      }
      return (await hashFolders(sftp, nsxDir, folders, 'NSX')).map((r) => ({ ...r, path: `nsx/${r.path}` }));
    }),
  );
}

/** Finds the appliance's backup folder (vCenter/sn_<fqdn>/M_<version>_<time>_<suffix>) and hashes it. */
export async function verifyVcenterBackup({ target, startMs, endMs }: VerifyInput): Promise<FileRecord[]> {
  return guarded(async () =>
    withSftp(await sftpEndpoint(target), async (sftp) => {
      const { vcenterDir } = targetLayout(target.directory);
      const candidates: { path: string; t: number }[] = [];
      const walk = async (rel: string, depth: number): Promise<void> => {
        for (const e of await sftp.list(rel ? `${vcenterDir}/${rel}` : vcenterDir)) {
          if (e.type !== 'd') continue;
          const p = rel ? `${rel}/${e.name}` : e.name;
          const parsed = parseVcenterBackupFolderName(e.name);
          if (parsed) candidates.push({ path: p, t: parsed.startMs });
          else if (depth < 3) {
            await walk(p, depth + 1);
          }
        }
      };
      await walk('', 0);
      const folders = pickFolders(candidates, { startMs, endMs });
      if (folders.length !== 1) {
        throw nonRetryable(
          'VerificationFailed',
          folders.length === 0
            ? `vCenter reported success but no backup folder from ${new Date(startMs).toISOString()} is under ${vcenterDir} on ${target.host}`
            : `more than one vCenter backup folder matches this job's time window: ${folders.join(', ')}`,
        );
      }
      const records = await hashFolders(sftp, vcenterDir, folders, 'vCenter');
      if (!records.some((r) => r.path.endsWith('/backup-metadata.json'))) {
        throw nonRetryable('VerificationFailed', `vCenter backup folder ${folders[0]} has no backup-metadata.json`);
      }
      return records.map((r) => ({ ...r, path: `vcenter/${r.path}` }));
    }),
  );
}

/** Writes backup-set.json beside the backups, atomically (temp file + rename). */
export async function writeBackupSetManifest({ target, manifest }: { target: BackupTarget; manifest: BackupSetManifest }): Promise<{ path: string }> {
  return guarded(async () =>
    withSftp(await sftpEndpoint(target), async (sftp) => {
      const layout = targetLayout(target.directory);
      const path = layout.manifestPath(manifest.setId);
      await sftp.mkdirp(layout.setDir(manifest.setId));
      await sftp.writeFileAtomic(path, JSON.stringify(manifest, null, 2) + '\n');
      return { path };
    }),
  );
}
