import { Context } from '@temporalio/activity';
import type { BackupTarget } from '../../src/config/schema.js';
import { BadSetIdError, readManifest, recordVerification, SetNotFoundError } from '../../src/catalog/catalog.js';
import { reverifySet, type ReverifyProgress } from '../../src/catalog/reverify.js';
import { pruneTarget } from '../../src/catalog/prune.js';
import { SftpStore } from '../../src/catalog/store.js';
import { runLivenessFrom } from '../../src/temporal/run-liveness.js';
import { retentionPolicyOf } from '../../src/domain/retention.js';
import { withTargetSftp } from '../endpoints.js';
import { guarded, nonRetryable } from '../failures.js';

export interface ReverifyOutcome {
  setId: string;
  checked: number;
  verifiedAt: string;
}

/** Re-hashes a set's files over SFTP, records the result in its manifest, and fails naming bad files. */
export async function reverifyBackupSet({ target, setId }: { target: BackupTarget; setId: string }): Promise<ReverifyOutcome> {
  return guarded(async () =>
    withTargetSftp(target, async (sftp) => {
      const store = new SftpStore(sftp, target.directory);
      const manifest = await readManifest(store, setId).catch((err: Error) => {
        if (err instanceof BadSetIdError) throw nonRetryable('BadRequest', err.message);
        if (err instanceof SetNotFoundError) throw nonRetryable('NotFound', err.message);
        throw err;
      });
      // Heartbeats carry how far it got: a retry after a crash or a restart resumes there.
      const ctx = Context.current();
      const resumeFrom = ctx.info.heartbeatDetails as ReverifyProgress | undefined;
      const result = await reverifySet(sftp, target.directory, manifest, { resumeFrom, onProgress: (p) => ctx.heartbeat(p) });
      const at = new Date().toISOString();
      await recordVerification(store, setId, at, result);
      if (!result.ok) {
        throw nonRetryable('VerificationFailed', `backup set ${setId} is damaged: ${result.problems.join('; ')}`, { problems: result.problems });
      }
      return { setId, checked: result.checked, verifiedAt: at };
    }),
  );
}

export interface PruneOutcome {
  dryRun: boolean;
  expired: { setId: string; reason: string }[];
  kept: number;
  filesDeleted: number;
  bytesFreed: number;
  /** Sets whose manifests point outside the product folders: reported, nothing of them deleted. */
  refused?: { setId: string; reason: string }[];
}

/** Applies the target's retention policy; a target without one is left alone. */
export async function pruneBackupSets({ target, dryRun, nowMs }: { target: BackupTarget; dryRun: boolean; nowMs: number }): Promise<PruneOutcome> {
  return guarded(async () => {
    const policy = retentionPolicyOf(target);
    if (!policy) return { dryRun, expired: [], kept: 0, filesDeleted: 0, bytesFreed: 0 };
    return withTargetSftp(target, async (sftp) => {
      const r = await pruneTarget(new SftpStore(sftp, target.directory), policy, {
        dryRun,
        nowMs,
        liveness: runLivenessFrom(Context.current().client),
        onDelete: (file) => Context.current().heartbeat({ file }),
      });
      const refused = r.sets.filter((s) => s.refused).map((s) => ({ setId: s.setId, reason: s.refused! }));
      return { dryRun, expired: r.decision.expire, kept: r.decision.keep.length, filesDeleted: r.files.length, bytesFreed: r.bytes, ...(refused.length ? { refused } : {}) };
    });
  });
}
