/** Shapes of the vCenter appliance backup API, /api family (vSphere 7.0 U2+ and 8.x). */
export interface LocalizableMessage {
  id: string;
  default_message: string;
  args?: string[];
}

export interface VapiError {
  error_type: string;
  messages: LocalizableMessage[];
}

export type BackupJobState = 'FAILED' | 'INPROGRESS' | 'NONE' | 'SUCCEEDED';

export interface BackupJobStatus {
  id: string;
  state: BackupJobState;
  progress: number;
  start_time?: string;
  end_time?: string;
  messages: LocalizableMessage[];
}

export interface BackupRequest {
  parts: string[];
  location_type: 'SFTP';
  location: string;
  location_user: string;
  location_password: string;
  backup_password?: string;
  comment?: string;
}

export interface ApplianceVersion {
  version: string;
  build: string;
  product?: string;
  type?: string;
}

/** Answer of POST .../backup/job/{id}?action=cancel (Recovery Backup Job ReturnResult). */
export interface BackupJobReturnResult {
  status: 'FAIL' | 'WARNING' | 'OK';
  messages: LocalizableMessage[];
}

/** A file-based restore request, on an appliance deployed in restore mode (shared/api/vcenter.md; the field list is to be confirmed against the SDK). */
export interface RestoreRequest {
  location_type: 'SFTP';
  location: string;
  location_user: string;
  location_password: string;
  backup_password?: string;
  sso_admin_user_name?: string;
  sso_admin_password?: string;
  ignore_warnings?: boolean;
}

export interface RestoreJobStatus {
  state: 'NONE' | 'INPROGRESS' | 'SUCCEEDED' | 'FAILED';
  progress: number;
  start_time?: string;
  end_time?: string;
  messages: LocalizableMessage[];
}
