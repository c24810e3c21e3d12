export { coordinatedBackup, progressQuery } from './coordinated-backup.js';
