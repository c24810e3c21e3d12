export { coordinatedBackup, progressQuery } from './coordinated-backup.js';
export { verifyBackupSet } from './verify-backup-set.js';
