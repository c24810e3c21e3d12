import type { CoordinatedBackupInput } from '../../workflows/backup/coordinated-backup.js';
import type { AppDataRoundInput } from '../../workflows/appdata/appdata-round.js';

/**
 * What a run of a site is started with: its name (and how to wait for busy products). The run
 * reads the site's config from the worker's config file when it starts, so edits reach the next
 * run — a schedule never carries a frozen copy.
 */
export function backupInput(site: string, ifBusy: 'queue' | 'skip' = 'queue'): CoordinatedBackupInput {
  return { site, ...(ifBusy === 'skip' ? { ifBusy } : {}) };
}

export function appDataRoundInput(site: string): AppDataRoundInput {
  return { site };
}
