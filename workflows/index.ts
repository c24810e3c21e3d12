export { coordinatedBackup, progressQuery } from './backup/coordinated-backup.js';
export { verifyBackupSet } from './backup/verify-backup-set.js';
export { appDataReminder } from './appdata/appdata-reminder.js';
export { appDataRound } from './appdata/appdata-round.js';
export { endpointLock } from './locks/endpoint-lock.js';
export { addHosts } from './scale-out/add-hosts.js';
export { addCluster } from './scale-out/add-cluster.js';
export { expandIks } from './scale-out/expand-iks.js';
export { addSite } from './scale-out/add-site.js';
