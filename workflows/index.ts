export { coordinatedBackup, progressQuery } from './coordinated-backup.js';
export { verifyBackupSet } from './verify-backup-set.js';
export { appDataReminder } from './appdata-reminder.js';
export { appDataRound } from './appdata-round.js';
export { endpointLock } from './endpoint-lock.js';
