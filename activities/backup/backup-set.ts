import { posix } from 'node:path';
import { Context } from '@temporalio/activity';
import type { BackupTarget } from '../../src/config/schema.js';
import type { PinnedSftp } from '../../src/providers/sftp/client.js';
import {
  parseNsxInventorySummaryName,
  targetLayout,
  type BackupSetManifest,
  type FileRecord,
} from '../../src/domain/backup-set.js';
import { checkedSetId, manifestOf, updateManifest } from '../../src/catalog/catalog.js';
import { SftpStore } from '../../src/catalog/store.js';
import { productFolders } from '../../src/catalog/prune.js';
import { withTargetSftp } from '../endpoints.js';
import { guarded, nonRetryable } from '../failures.js';
import { recordVerified } from '../metrics.js';
import { mapLimit, throttled } from '../../src/util/concurrency.js';

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

/** Files of a set hashed at once over the one connection: a vCenter backup is a few large files and many small ones. */
const FILES_IN_PARALLEL = 3;
const HEARTBEAT_EVERY_MS = 1_000;

/** Hashes every file of the given folders over one SFTP session; collects every problem found. */
async function hashFolders(sftp: PinnedSftp, base: string, folders: string[], what: 'NSX' | 'vCenter'): Promise<FileRecord[]> {
  const began = Date.now();
  const problems: string[] = [];
  const files: { rel: string; size: number }[] = [];
  for (const folder of folders) {
    if ((await sftp.exists(`${base}/${folder}`)) === '-') {
      // An NSX-V backup is one file, not a folder.
      const e = (await sftp.list(posix.dirname(`${base}/${folder}`))).find((x) => x.name === posix.basename(folder));
      files.push({ rel: folder, size: e?.size ?? 0 });
      continue;
    }
    const listed = await sftp.listRecursive(`${base}/${folder}`);
    if (listed.length === 0) problems.push(`${folder}: folder is empty`);
    files.push(...listed.map((f) => ({ rel: `${folder}/${f.path}`, size: f.size })));
  }
  // Heartbeats carry progress: bytes hashed of the bytes listed, and the files done.
  const totalBytes = files.reduce((n, f) => n + f.size, 0);
  const inFile = new Map<string, number>();
  let doneBytes = 0;
  let doneFiles = 0;
  const beat = throttled(HEARTBEAT_EVERY_MS, () => {
    let bytes = doneBytes;
    for (const n of inFile.values()) bytes += n;
    Context.current().heartbeat({ files: `${doneFiles}/${files.length}`, bytes, totalBytes });
  });
  const records = await mapLimit(files, FILES_IN_PARALLEL, async ({ rel }) => {
    const d = await sftp.digest(`${base}/${rel}`, (n) => {
      inFile.set(rel, n);
      beat();
    });
    inFile.delete(rel);
    doneBytes += d.size;
    doneFiles += 1;
    if (d.size === 0) problems.push(`${rel}: empty file`);
    if (d.gzipIntact === false) problems.push(`${rel}: damaged gzip stream (${d.gzipError})`);
    if (rel.endsWith('.json')) {
      try {
        JSON.parse(await sftp.readText(`${base}/${rel}`));
      } catch {
        problems.push(`${rel}: not valid JSON`);
      }
    }
    return { path: rel, size: d.size, sha256: d.sha256 };
  });
  recordVerified(what, doneBytes, (Date.now() - began) / 1000);
  if (problems.length) {
    problems.sort();
    throw nonRetryable('VerificationFailed', `${what} backup failed verification: ${problems.join('; ')}`, { problems });
  }
  return records;
}

export interface VerifyInput {
  target: BackupTarget;
  startMs: number;
  endMs: number;
}

/** What a product backup left on the target: its folders (relative to the target) and, once verified, its files. */
export interface ProductFiles {
  folders: string[];
  files: FileRecord[];
}

/** The product's backup folders on the target, relative to its own root folder (nsx/ or vcenter/). */
async function candidates(sftp: PinnedSftp, directory: string, root: 'nsx' | 'vcenter'): Promise<{ path: string; t: number }[]> {
  return (await productFolders(new SftpStore(sftp, directory), [root])).map((f) => ({ path: f.folder.slice(root.length + 1), t: f.t }));
}

/** inventory-summary/<node>/inventory-<ms>.json files written within the job's window (strictly: the periodic ones are not this set's). */
async function inventorySummaries(sftp: PinnedSftp, nsxDir: string, w: Window): Promise<string[]> {
  const root = `${nsxDir}/inventory-summary`;
  if ((await sftp.exists(root)) !== 'd') return [];
  const out: string[] = [];
  for (const node of await sftp.list(root)) {
    if (node.type !== 'd') continue;
    for (const f of await sftp.list(`${root}/${node.name}`)) {
      const t = f.type === '-' ? parseNsxInventorySummaryName(f.name) : undefined;
      if (t !== undefined && t >= Math.floor(w.startMs / 1000) * 1000 && t <= w.endMs) out.push(`inventory-summary/${node.name}/${f.name}`);
    }
  }
  return out.sort();
}

/** Finds the NSX backup folders of this backup (one per manager node) and hashes their files. */
export async function verifyNsxBackup({ target, startMs, endMs }: VerifyInput): Promise<ProductFiles> {
  return guarded(async () =>
    withTargetSftp(target, async (sftp) => {
      const { nsxDir } = targetLayout(target.directory);
      const folders = pickFolders(await candidates(sftp, target.directory, 'nsx'), { startMs, endMs });
      if (folders.length === 0) {
        throw nonRetryable('VerificationFailed', `NSX reported success but no backup folder from ${new Date(startMs).toISOString()} is under ${nsxDir}/cluster-node-backups on ${target.host}`);
      }
      // The inventory summary NSX wrote during this job is part of this backup: hashed, and deleted with the set.
      const inventory = await inventorySummaries(sftp, nsxDir, { startMs, endMs });
      const files = (await hashFolders(sftp, nsxDir, [...folders, ...inventory], 'NSX')).map((r) => ({ ...r, path: `nsx/${r.path}` }));
      return { folders: folders.map((f) => `nsx/${f}`), files };
    }),
  );
}

/** Finds the appliance's backup folder (vCenter/sn_<fqdn>/M_<version>_<time>_<suffix>) and hashes it. */
export async function verifyVcenterBackup({ target, startMs, endMs }: VerifyInput): Promise<ProductFiles> {
  return guarded(async () =>
    withTargetSftp(target, async (sftp) => {
      const { vcenterDir } = targetLayout(target.directory);
      const folders = pickFolders(await candidates(sftp, target.directory, 'vcenter'), { startMs, endMs });
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
      return { folders: folders.map((f) => `vcenter/${f}`), files: records.map((r) => ({ ...r, path: `vcenter/${r.path}` })) };
    }),
  );
}

export interface LocateInput {
  target: BackupTarget;
  nsx?: { startMs: number; endMs: number };
  vcenter?: { startMs: number; endMs: number };
}

/**
 * After a failure or a cancel: the folders the products wrote for this run (whole, partial or
 * none), so that the manifest records them and retention frees them. Reads only.
 */
export async function locateBackupFolders({ target, nsx, vcenter }: LocateInput): Promise<{ nsx: string[]; vcenter: string[] }> {
  return guarded(async () =>
    withTargetSftp(target, async (sftp) => {
      return {
        nsx: nsx ? pickFolders(await candidates(sftp, target.directory, 'nsx'), nsx).map((f) => `nsx/${f}`) : [],
        vcenter: vcenter ? pickFolders(await candidates(sftp, target.directory, 'vcenter'), vcenter).map((f) => `vcenter/${f}`) : [],
      };
    }),
  );
}

export interface ManifestWriteResult {
  path: string;
  /** What the target holds now: a complete set is never downgraded by a later write. */
  status: BackupSetManifest['status'];
  written: boolean;
}

/**
 * Writes backup-set.json beside the backups under the set's lock, atomically. A set that is
 * already complete keeps that state (a retried or late failure write never downgrades it), and
 * what others recorded meanwhile (verifications, app-data acknowledgements) is kept.
 */
export async function writeBackupSetManifest({ target, manifest }: { target: BackupTarget; manifest: BackupSetManifest }): Promise<ManifestWriteResult> {
  return guarded(async () =>
    withTargetSftp(target, async (sftp) => {
      const store = new SftpStore(sftp, target.directory);
      checkedSetId(manifest.setId);
      let written = false;
      const now = await updateManifest(store, manifest.setId, `backup run ${manifest.workflow.runId}`, (current) => {
        if (current && (current.status === 'complete' || current.status === 'deleting') && manifest.status !== 'complete') return undefined;
        written = true;
        return {
          ...manifest,
          ...(current?.verifications ? { verifications: current.verifications } : {}),
          ...(current?.appData ? { appData: current.appData } : {}),
          ...(current?.restoreTested ? { restoreTested: current.restoreTested } : {}),
          ...(current?.drills ? { drills: current.drills } : {}),
        };
      });
      return { path: `${target.directory.replace(/\/+$/, '')}/${manifestOf(manifest.setId)}`, status: now!.status, written };
    }),
  );
}
