export { preflightBackupTarget } from './backup-target.js';
export { ensureNsxBackupConfig, startNsxBackup, getNsxBackupState } from './nsx-backup.js';
export { startVcenterBackup, getVcenterBackupState } from './vcenter-backup.js';
export { verifyNsxBackup, verifyVcenterBackup, writeBackupSetManifest } from './backup-set.js';
export { reverifyBackupSet, pruneBackupSets } from './catalog.js';
