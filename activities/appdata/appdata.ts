import type { BackupTarget } from '../../src/config/schema.js';
import { readCatalog, updateManifest } from '../../src/catalog/catalog.js';
import { SftpStore } from '../../src/catalog/store.js';
import { catalogStatus, isPlainSetId, type AppDataAck } from '../../src/domain/backup-set.js';
import { withTargetSftp } from '../endpoints.js';
import { guarded, nonRetryable } from '../failures.js';

/**
 * Writes an app owner's acknowledgement into a backup set's manifest (the given set, or the newest
 * complete one when the reminder ran on its own schedule). Writing the same ack twice is harmless.
 */
export async function recordAppDataAck({ target, setId, clusterId, ack }: { target: BackupTarget; setId?: string; clusterId: string; ack: AppDataAck }): Promise<{ setId: string }> {
  return guarded(async () =>
    withTargetSftp(target, async (sftp) => {
      const store = new SftpStore(sftp, target.directory);
      const record = (id: string) =>
        updateManifest(store, id, `app-data acknowledgement ${clusterId}`, (m) => (m && m.status !== 'deleting' ? { ...m, appData: { ...m.appData, [clusterId]: ack } } : undefined));
      // The set the reminder came with may have been pruned since: fall back to the newest complete one.
      if (setId && isPlainSetId(setId) && (await record(setId))?.appData?.[clusterId]) return { setId };
      const now = Date.now();
      for (const m of (await readCatalog(store)).sets) {
        if (catalogStatus(m, undefined, now) !== 'complete') continue;
        if ((await record(m.setId))?.appData?.[clusterId]) return { setId: m.setId };
      }
      throw nonRetryable('NotFound', `no complete backup set on ${target.host}:${target.directory} to record the acknowledgement in`);
    }),
  );
}
