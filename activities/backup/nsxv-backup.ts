import { credentialsChanged, credentialsSent } from './sent-credentials.js';
import { Context } from '@temporalio/activity';
import type { BackupTarget, NsxConfig } from '../../src/config/schema.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { HttpError } from '../../src/providers/http.js';
import { NsxvClient } from '../../src/providers/nsxv/client.js';
import type { BackupFileProperties, FtpSettings } from '../../src/providers/nsxv/xml.js';
import { NSXV_FILENAME_PREFIX, targetLayout } from '../../src/domain/backup-set.js';
import { nsxEndpoint } from '../endpoints.js';
import { nonRetryable } from '../failures.js';
import type { EnsureNsxConfigResult, NsxBackupState, NsxStartResult } from './nsx-backup.js';

/**
 * NSX for vSphere (flavor nsx-v): the same steps as NSX-T through its XML appliance-management
 * API. A backup is one file, <nsx dir>/<prefix><HH_MM_SS_DddDDMonYYYY>; the file name is its id.
 */
export async function nsxvClient(nsx: NsxConfig): Promise<NsxvClient> {
  return new NsxvClient(await nsxEndpoint(nsx));
}

function desired(target: BackupTarget): Omit<FtpSettings, 'password' | 'passPhrase'> {
  return {
    transferProtocol: 'SFTP',
    hostNameIPAddress: target.host,
    port: target.port,
    userName: target.user,
    backupDirectory: targetLayout(target.directory).nsxDir,
    filenamePrefix: NSXV_FILENAME_PREFIX,
    passiveMode: true,
    useEPRT: false,
    useEPSV: true,
  };
}

export function nsxvSettingsDrift(have: Partial<FtpSettings> | undefined, target: BackupTarget): string[] {
  if (!have?.hostNameIPAddress) return ['ftpSettings (not configured)'];
  const want = desired(target);
  return (['transferProtocol', 'hostNameIPAddress', 'port', 'userName', 'backupDirectory', 'filenamePrefix'] as const).filter((k) => String(have[k]) !== String(want[k]));
}

export async function ensureNsxvBackupConfig(nsx: NsxConfig, target: BackupTarget): Promise<EnsureNsxConfigResult> {
  const c = await nsxvClient(nsx);
  const drift = nsxvSettingsDrift(await c.getFtpSettings().catch((err) => (err instanceof HttpError && err.status === 404 ? undefined : Promise.reject(err))), target);
  const secrets = [target.password ? await resolveSecret(target.password) : '', await resolveSecret(nsx.backupPassphrase)];
  if (credentialsChanged(nsx.url, secrets)) drift.push('credentials');
  if (drift.length === 0) return { changed: false, drift };
  await c.putFtpSettings({ ...desired(target), password: secrets[0]!, passPhrase: secrets[1]! });
  credentialsSent(nsx.url, secrets);
  return { changed: true, drift };
}

/** Backups of this run: made since it began (file names carry whole seconds). */
const since = (list: BackupFileProperties[], notBefore: number) => list.filter((b) => b.creationTime >= Math.floor(notBefore / 1000) * 1000).sort((a, b) => b.creationTime - a.creationTime);

/**
 * POSTs an on-demand backup: NSX-V answers when it has written the file (a longer one outlasts the
 * call, and the wait finds the file). A retry adopts a file this run's first attempt wrote. A
 * backup NSX-V reports failed (500 with its error) is the product's failure, not an outage.
 */
export async function startNsxvBackup(nsx: NsxConfig, notBefore: number): Promise<NsxStartResult> {
  const c = await nsxvClient(nsx);
  const productVersion = await c.version().catch(() => undefined);
  const mine = () => c.listBackups().then((l) => since(l, notBefore)[0]);
  if (Context.current().info.attempt > 1) {
    const found = await mine();
    if (found) return { how: 'adopted', backupId: found.fileName, startTime: found.creationTime, productVersion };
  }
  try {
    if ((await c.backup()) === 'timed-out') return { how: 'started', productVersion };
  } catch (err) {
    if (err instanceof HttpError && err.status === 500) throw nonRetryable('NsxBackupFailed', `NSX Manager (NSX-V) failed the backup: ${err.detail}`);
    throw err;
  }
  const found = await mine();
  return { how: 'started', backupId: found?.fileName, startTime: found?.creationTime, productVersion };
}

/** One look at the list of backups: this run's file there means it is done; none yet, still running. */
export async function nsxvBackupState(nsx: NsxConfig, notBefore: number, backupId?: string): Promise<NsxBackupState> {
  const list = await (await nsxvClient(nsx)).listBackups();
  const b = backupId ? list.find((x) => x.fileName === backupId) : since(list, notBefore)[0];
  if (!b) return { state: 'running', step: 'writing the backup file' };
  return { state: 'succeeded', backupId: b.fileName, startTime: b.creationTime, endTime: b.creationTime };
}
