import type { BackupTarget } from '../src/config/schema.js';
import { withSftp } from '../src/providers/sftp/client.js';
import { readCatalog, readManifest } from '../src/catalog/catalog.js';
import { targetLayout, type AppDataAck } from '../src/domain/backup-set.js';
import { sftpEndpoint } from './endpoints.js';
import { guarded, nonRetryable } from './failures.js';

/**
 * Writes an app owner's acknowledgement into a backup set's manifest (the given set, or the newest
 * complete one when the reminder ran on its own schedule). Writing the same ack twice is harmless.
 */
export async function recordAppDataAck({ target, setId, clusterId, ack }: { target: BackupTarget; setId?: string; clusterId: string; ack: AppDataAck }): Promise<{ setId: string }> {
  return guarded(async () =>
    withSftp(await sftpEndpoint(target), async (sftp) => {
      // The set the reminder came with may have been pruned since: fall back to the newest complete one.
      const exists = setId && (await sftp.exists(targetLayout(target.directory).manifestPath(setId))) === '-';
      const id = exists ? setId : (await readCatalog(sftp, target.directory)).sets.find((m) => m.status === 'complete')?.setId;
      if (!id) throw nonRetryable('NotFound', `no complete backup set on ${target.host}:${target.directory} to record the acknowledgement in`);
      const m = await readManifest(sftp, target.directory, id);
      const next = { ...m, appData: { ...m.appData, [clusterId]: ack } };
      await sftp.writeFileAtomic(targetLayout(target.directory).manifestPath(id), JSON.stringify(next, null, 2) + '\n');
      return { setId: id };
    }),
  );
}
