export { preflightBackupTarget, preflightProducts } from './backup-target.js';
export { ensureNsxBackupConfig, startNsxBackup, getNsxBackupState } from './nsx-backup.js';
export { startVcenterBackup, getVcenterBackupState, cancelVcenterBackup } from './vcenter-backup.js';
export { verifyNsxBackup, verifyVcenterBackup, locateBackupFolders, writeBackupSetManifest } from './backup-set.js';
export { reverifyBackupSet, pruneBackupSets } from './catalog.js';
export { recordIksClusters } from './iks.js';
export { sendNotification } from './notify.js';
export { recordAppDataAck } from './appdata.js';
export { requestEndpointLock, describeEndpointLock, runHasEnded } from './locks.js';
