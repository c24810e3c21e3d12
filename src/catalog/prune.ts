import { posix } from 'node:path';
import type { PinnedSftp } from '../providers/sftp/client.js';
import { targetLayout } from '../domain/backup-set.js';
import { decideRetention, filesToDelete, type RetentionDecision, type RetentionPolicy } from '../domain/retention.js';
import { filesOf, readCatalog } from './catalog.js';

export interface PruneReport {
  dryRun: boolean;
  decision: RetentionDecision;
  /** Files deleted (or, on a dry run, that would be), relative to the target directory. */
  files: string[];
  bytes: number;
  unreadable: { setId: string; reason: string }[];
}

/**
 * Applies the retention policy to a target. Deletes only files listed in expired manifests (never
 * a file it did not write, never one a kept manifest lists), and each manifest last, so that a
 * crash mid-prune leaves a set that `backup verify` reports as damaged, not an orphan.
 */
export async function pruneTarget(
  sftp: PinnedSftp,
  directory: string,
  policy: RetentionPolicy,
  o: { dryRun: boolean; nowMs: number; onDelete?: (path: string) => void },
): Promise<PruneReport> {
  const catalog = await readCatalog(sftp, directory);
  const decision = decideRetention(
    catalog.sets.map((m) => ({ setId: m.setId, status: m.status, startedAtMs: Date.parse(m.startedAt) })),
    policy,
    o.nowMs,
  );
  const expiredIds = new Set(decision.expire.map((e) => e.setId));
  const expired = catalog.sets.filter((m) => expiredIds.has(m.setId));
  const kept = catalog.sets.filter((m) => !expiredIds.has(m.setId));
  const protectedFiles = new Set(kept.flatMap((m) => filesOf(m).map((f) => f.path)));
  const sizes = new Map(expired.flatMap((m) => filesOf(m).map((f) => [f.path, f.size] as const)));
  const planned = filesToDelete(
    expired.map((m) => ({ files: filesOf(m).map((f) => f.path) })),
    kept.map((m) => ({ files: filesOf(m).map((f) => f.path) })),
  );
  const report: PruneReport = { dryRun: o.dryRun, decision, files: planned, bytes: planned.reduce((n, f) => n + (sizes.get(f) ?? 0), 0), unreadable: catalog.unreadable };
  if (o.dryRun) return report;

  const layout = targetLayout(directory);
  const roots = new Set([layout.nsxDir, layout.vcenterDir, layout.setsDir, directory.replace(/\/+$/, '')]);
  for (const m of expired) {
    const mine = filesOf(m).map((f) => f.path).filter((p) => !protectedFiles.has(p));
    for (const rel of mine) {
      const abs = posix.join(directory, rel);
      if ((await sftp.exists(abs)) === '-') await sftp.remove(abs);
      o.onDelete?.(rel);
      await removeEmptyParents(sftp, posix.dirname(abs), roots);
    }
    const manifest = layout.manifestPath(m.setId);
    if ((await sftp.exists(manifest)) === '-') await sftp.remove(manifest);
    o.onDelete?.(posix.relative(directory, manifest));
    await removeEmptyParents(sftp, layout.setDir(m.setId), roots);
  }
  return report;
}

/** Removes now-empty folders upwards, stopping at the product roots and the target directory. */
async function removeEmptyParents(sftp: PinnedSftp, dir: string, roots: Set<string>): Promise<void> {
  let d = dir;
  while (!roots.has(d) && d.length > 1) {
    if ((await sftp.exists(d)) !== 'd' || (await sftp.list(d)).length > 0) return;
    await sftp.rmdir(d);
    d = posix.dirname(d);
  }
}
