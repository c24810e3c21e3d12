/** Shapes of the NSX-T / NSX 4.x backup API (see shared/api/nsx.md). */
export interface NsxApiError {
  httpStatus?: string;
  error_code?: number;
  module_name?: string;
  error_message?: string;
  details?: string;
  related_errors?: NsxApiError[];
}

export type BackupSchedule =
  | { resource_type: 'IntervalBackupSchedule'; seconds_between_backups: number }
  | { resource_type: 'WeeklyBackupSchedule'; days_of_week: number[]; hour_of_day: number; minute_of_day: number };

export interface RemoteFileServer {
  server: string;
  port: number;
  directory_path: string;
  protocol: {
    protocol_name: 'sftp';
    ssh_fingerprint: string;
    authentication_scheme: { scheme_name: 'PASSWORD'; username: string; password?: string };
  };
}

export interface BackupConfiguration {
  backup_enabled: boolean;
  backup_schedule?: BackupSchedule;
  inventory_summary_interval?: number;
  after_inventory_update_interval?: number;
  remote_file_server?: RemoteFileServer;
  passphrase?: string;
}

export interface CurrentBackupOperationStatus {
  operation_type: string; // NONE | BACKUP (compare case-insensitively)
  backup_id?: string;
  start_time?: number;
  end_time?: number;
  current_step?: string;
  current_step_message?: string;
}

export interface BackupOperationStatus {
  backup_id: string;
  start_time?: number;
  end_time?: number;
  success: boolean;
  error_code?: string;
  error_message?: string;
}

export interface BackupOperationHistory {
  cluster_backup_statuses?: BackupOperationStatus[];
  node_backup_statuses?: BackupOperationStatus[];
  inventory_backup_statuses?: BackupOperationStatus[];
}

export interface NodeVersion {
  node_version: string;
  product_version: string;
}

/** Restore to a freshly deployed manager at the same address (shared/api/nsx.md). */
export interface RestoreConfiguration {
  remote_file_server: RemoteFileServer;
  passphrase: string;
}
export interface BackupTimestamp {
  timestamp: number;
  node_id: string;
  ip_address?: string;
  restore_type?: string[];
}
export type RestoreStatusValue = 'INITIAL' | 'RUNNING' | 'SUCCESS' | 'FAILED' | 'SUSPENDED_BY_USER' | 'SUSPENDED_FOR_USER_ACTION' | 'SUSPENDED' | 'ABORTED';
/** What NSX asks the operator to do while a restore is suspended (the id and fields to answer with; the exact ids are to be confirmed). */
export interface RestoreInstruction {
  id: string;
  name: string;
  fields?: string[];
  data?: Record<string, unknown>[];
}
export interface ClusterRestoreStatus {
  status: { value: RestoreStatusValue; description?: string };
  step?: { step_number: number; value: string; description?: string };
  instructions?: RestoreInstruction[];
  total_steps?: number;
  restore_start_time?: number;
  restore_end_time?: number;
  backup_timestamp?: number;
}
