import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { BackupTarget, NsxConfig } from '../../src/config/schema.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { HttpError } from '../../src/providers/http.js';
import { NsxClient } from '../../src/providers/nsx/client.js';
import type { BackupConfiguration, BackupOperationStatus, RemoteFileServer } from '../../src/providers/nsx/types.js';
import { targetLayout } from '../../src/domain/backup-set.js';
import { nsxEndpoint } from '../endpoints.js';
import { guarded } from '../failures.js';
import { ensureNsxvBackupConfig, nsxvBackupState, startNsxvBackup } from './nsxv-backup.js';
import { credentialsChanged, credentialsSent } from './sent-credentials.js';

export interface NsxTargetInput {
  nsx: NsxConfig;
  target: BackupTarget;
}

export interface EnsureNsxConfigResult {
  changed: boolean;
  /** Which settings differed (names only; never values of secrets). */
  drift: string[];
}

/** The target NSX should have, without the password (NSX never returns it, so it cannot drift-check it). */
function desiredServer(target: BackupTarget): RemoteFileServer {
  return {
    server: target.host,
    port: target.port,
    directory_path: targetLayout(target.directory).nsxDir,
    protocol: {
      protocol_name: 'sftp',
      ssh_fingerprint: target.hostKeyFingerprint,
      authentication_scheme: { scheme_name: 'PASSWORD', username: target.user },
    },
  };
}

export function nsxConfigDrift(current: BackupConfiguration | undefined, target: BackupTarget): string[] {
  const want = desiredServer(target);
  const have = current?.remote_file_server;
  if (!have) return ['remote_file_server (not configured)'];
  const drift: string[] = [];
  if (have.server !== want.server) drift.push('server');
  if (Number(have.port) !== want.port) drift.push('port');
  if (have.directory_path !== want.directory_path) drift.push('directory_path');
  if (have.protocol?.protocol_name?.toLowerCase() !== 'sftp') drift.push('protocol_name');
  if (have.protocol?.ssh_fingerprint !== want.protocol.ssh_fingerprint) drift.push('ssh_fingerprint');
  if (have.protocol?.authentication_scheme?.scheme_name !== 'PASSWORD') drift.push('authentication_scheme');
  if (have.protocol?.authentication_scheme?.username !== want.protocol.authentication_scheme.username) drift.push('username');
  return drift;
}

/** Read the NSX backup target; PUT only when it differs from the config (check, then act). */
export async function ensureNsxBackupConfig({ nsx, target }: NsxTargetInput): Promise<EnsureNsxConfigResult> {
  return guarded(async () => {
    if (nsx.flavor === 'nsx-v') return ensureNsxvBackupConfig(nsx, target);
    const client = new NsxClient(await nsxEndpoint(nsx));
    let current: BackupConfiguration | undefined;
    try {
      current = await client.getBackupConfig();
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 404)) throw err;
    }
    const sftpPassword = target.password ? await resolveSecret(target.password) : '';
    const passphrase = await resolveSecret(nsx.backupPassphrase);
    const drift = nsxConfigDrift(current, target);
    if (credentialsChanged(nsx.url, [sftpPassword, passphrase])) drift.push('credentials');
    if (drift.length === 0) return { changed: false, drift };
    const want = desiredServer(target);
    await client.putBackupConfig({
      // Keep the operator's own NSX schedule settings; we only own where backups go.
      backup_enabled: current?.backup_enabled ?? false,
      ...(current?.backup_schedule ? { backup_schedule: current.backup_schedule } : {}),
      ...(current?.inventory_summary_interval ? { inventory_summary_interval: current.inventory_summary_interval } : {}),
      remote_file_server: {
        ...want,
        protocol: { ...want.protocol, authentication_scheme: { ...want.protocol.authentication_scheme, password: sftpPassword } },
      },
      passphrase,
    });
    credentialsSent(nsx.url, [sftpPassword, passphrase]);
    return { changed: true, drift };
  });
}

export interface NsxStartInput {
  nsx: NsxConfig;
  /** Epoch ms the workflow began; a backup that started before it is not ours. */
  notBefore: number;
}

export interface NsxStartResult {
  how: 'started' | 'adopted';
  backupId?: string;
  /** Epoch ms the backup began, as NSX reports it (its folders are named after it). */
  startTime?: number;
  productVersion?: string;
}

/**
 * Starts an on-demand NSX backup. Only a retry of this call may adopt a backup it finds (the first
 * attempt may have started it unseen); a first attempt that finds one running did not start it —
 * another tool or NSX's own scheduler did — so it waits for NSX to be free (retryable).
 */
export async function startNsxBackup({ nsx, notBefore }: NsxStartInput): Promise<NsxStartResult> {
  const retry = Context.current().info.attempt > 1;
  return guarded(async () => {
    if (nsx.flavor === 'nsx-v') return startNsxvBackup(nsx, notBefore);
    const client = new NsxClient(await nsxEndpoint(nsx));
    const productVersion = (await client.getNodeVersion().catch(() => undefined))?.product_version;
    const status = await client.getBackupStatus();
    if (status.operation_type?.toUpperCase() === 'BACKUP') {
      if (retry && (status.start_time ?? 0) >= notBefore) return { how: 'adopted', backupId: status.backup_id, startTime: status.start_time, productVersion };
      throw ApplicationFailure.create({ type: 'ProductBusy', message: `NSX Manager is running backup ${status.backup_id ?? '(no id)'}, which this run did not start (NSX's own schedule or another tool); waiting for it to end` });
    }
    const mine = retry ? newestSince(await client.getBackupHistory().then((h) => h.cluster_backup_statuses ?? []), notBefore) : undefined;
    if (mine) return { how: 'adopted', backupId: mine.backup_id, startTime: mine.start_time, productVersion };
    await client.startBackup();
    const after = await client.getBackupStatus();
    const running = after.operation_type?.toUpperCase() === 'BACKUP';
    return {
      how: 'started',
      backupId: running ? after.backup_id : undefined,
      startTime: running ? after.start_time : undefined,
      productVersion,
    };
  });
}

/** A backup that started before this run began belongs to someone else: never adopt it. */
function newestSince(list: BackupOperationStatus[], notBefore: number): BackupOperationStatus | undefined {
  return list
    .filter((s) => (s.start_time ?? 0) >= notBefore)
    .sort((a, b) => (b.start_time ?? 0) - (a.start_time ?? 0))[0];
}

export interface NsxStateInput {
  nsx: NsxConfig;
  notBefore: number;
  backupId?: string;
}

export interface NsxFinishedBackup {
  backupId: string;
  startTime: number;
  endTime: number;
  errorCode?: string;
  errorMessage?: string;
}

export type NsxBackupState =
  | { state: 'running'; backupId?: string; step?: string; message?: string }
  | { state: 'not-found' }
  | ({ state: 'succeeded' | 'failed' } & NsxFinishedBackup);

/** One look at the current operation and the history; the workflow decides when to look again. */
export async function getNsxBackupState({ nsx, notBefore, backupId }: NsxStateInput): Promise<NsxBackupState> {
  return guarded(async () => {
    if (nsx.flavor === 'nsx-v') return nsxvBackupState(nsx, notBefore, backupId);
    const client = new NsxClient(await nsxEndpoint(nsx));
    const status = await client.getBackupStatus();
    if (status.operation_type?.toUpperCase() === 'BACKUP' && (!backupId || status.backup_id === backupId)) {
      return { state: 'running', backupId: status.backup_id, step: status.current_step, message: status.current_step_message };
    }
    const history = (await client.getBackupHistory()).cluster_backup_statuses ?? [];
    const entry = backupId ? history.find((h) => h.backup_id === backupId) : newestSince(history, notBefore);
    if (!entry) return { state: 'not-found' };
    return {
      state: entry.success ? 'succeeded' : 'failed',
      backupId: entry.backup_id,
      startTime: entry.start_time ?? notBefore,
      endTime: entry.end_time ?? entry.start_time ?? notBefore,
      errorCode: entry.error_code,
      errorMessage: entry.error_message,
    };
  });
}
