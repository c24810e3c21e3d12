import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import type { BackupTarget } from '../src/config/schema.js';
import { NON_RETRYABLE_TYPES } from '../src/domain/failure-types.js';
import { BackupSetId } from '../src/temporal/search-attributes.js';
import type { ReverifyOutcome } from '../activities/catalog.js';

export interface VerifyBackupSetInput {
  site: string;
  target: BackupTarget;
  setId: string;
}

const { reverifyBackupSet } = proxyActivities<typeof activities>({
  startToCloseTimeout: '4h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
});

/** Re-hashes every file of one backup set against its manifest; fails naming the damaged files. */
export async function verifyBackupSet({ target, setId }: VerifyBackupSetInput): Promise<ReverifyOutcome> {
  upsertSearchAttributes([{ key: BackupSetId, value: setId }]);
  return reverifyBackupSet.executeWithOptions({ summary: `Re-hash ${setId} over SFTP and compare with its manifest` }, [{ target, setId }]);
}
