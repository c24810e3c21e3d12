/** ApplicationFailure types that no retry can fix; shared by activities and workflows (no I/O here). */
export const NON_RETRYABLE_TYPES = [
  'FingerprintMismatch',
  'SftpAuthenticationFailed',
  'TargetDirectoryUnusable',
  'SecretUnavailable',
  'AuthenticationFailed',
  'NotFound',
  'BadRequest',
  'VerificationFailed',
  'NsxBackupFailed',
  'VcenterBackupFailed',
  'BackupTimedOut',
  'EndpointBusy',
  'BadConfig',
  'HostThumbprintMismatch',
  'HostConnectFailed',
  'ScaleOutPrecheckFailed',
  'ScaleOutRolledBack',
  'IksWorkerFailed',
  'CapacityOrderFailed',
  'RestoreRefused',
  'RestoreFailed',
  'RestorePostcheckFailed',
  'DrillFailed',
  'SandboxDirty',
] as const;

export type NonRetryableType = (typeof NON_RETRYABLE_TYPES)[number];
