import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import { loadSite } from '../site-config.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import { BackupSetId } from '../../src/temporal/search-attributes.js';
import type { ReverifyOutcome } from '../../activities/backup/catalog.js';

export interface VerifyBackupSetInput {
  /** The site, by name: its target comes from the worker's config when the run starts. */
  site: string;
  setId: string;
}

const { reverifyBackupSet } = proxyActivities<typeof activities>({
  startToCloseTimeout: '4h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
});

/** Re-hashes every file of one backup set against its manifest; fails naming the damaged files. */
export async function verifyBackupSet({ site, setId }: VerifyBackupSetInput): Promise<ReverifyOutcome> {
  upsertSearchAttributes([{ key: BackupSetId, value: setId }]);
  const target = (await loadSite(site, `verifying set ${setId}`)).config.backupTarget;
  return reverifyBackupSet.executeWithOptions({ summary: `Re-hash ${setId} over SFTP and compare with its manifest` }, [{ target, setId }]);
}
