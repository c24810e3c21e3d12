import { Context } from '@temporalio/activity';
import type { SiteConfig } from '../../src/config/schema.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { NSXV_FILENAME_PREFIX } from '../../src/domain/backup-set.js';
import { HttpError } from '../../src/providers/http.js';
import type { ClusterRestoreStatus } from '../../src/providers/nsx/types.js';
import type { RestoreRunbook } from '../../src/restore/runbook.js';
import { nsxvClient } from '../backup/nsxv-backup.js';
import { nonRetryable } from '../failures.js';

/**
 * The NSX stage of a restore for NSX for vSphere: point the new manager at the backups
 * (ftpsettings), find the set's file in its list, and restore it. NSX-V answers the restore when it
 * is done and then restarts its services; it has no operator pause and no cancel.
 */
export async function version(config: SiteConfig): Promise<string> {
  return (await nsxvClient(config.nsx)).version();
}

/** Long: the restore call answers when the restore is done. Heartbeats go on meanwhile. */
const RESTORE_CALL_MS = 60 * 60_000;

export async function start(config: SiteConfig, r: RestoreRunbook): Promise<{ how: 'started' }> {
  const c = await nsxvClient(config.nsx);
  const t = config.backupTarget;
  await c.putFtpSettings({
    transferProtocol: 'SFTP',
    hostNameIPAddress: t.host,
    port: t.port,
    userName: t.user,
    password: await resolveSecret(t.password ?? ''),
    backupDirectory: r.nsx.directory,
    filenamePrefix: NSXV_FILENAME_PREFIX,
    passPhrase: await resolveSecret(r.nsx.passphraseRef),
    passiveMode: true,
    useEPRT: false,
    useEPSV: true,
  });
  const listed = await c.listBackups();
  if (!listed.some((b) => b.fileName === r.nsx.restoreFile)) {
    throw nonRetryable('RestoreRefused', `the NSX Manager does not list the set's backup file ${r.nsx.restoreFile}; it lists ${listed.map((b) => b.fileName).join(', ') || 'none'}`);
  }
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat({ restoring: r.nsx.restoreFile }), 5_000);
  try {
    await c.restore(r.nsx.restoreFile!, RESTORE_CALL_MS);
  } catch (err) {
    if (err instanceof HttpError && err.status >= 400 && err.status < 600 && err.status !== 502 && err.status !== 503 && err.status !== 504) {
      throw nonRetryable('RestoreFailed', `the NSX restore failed: ${err.detail} — check the manager's version against the set's (${r.nsx.version ?? '?'}), deploy a fresh manager and run the restore again`);
    }
    throw err;
  } finally {
    clearInterval(beat);
  }
  return { how: 'started' };
}

/** After the restore call: the manager is back once its API answers again. */
export async function await_(config: SiteConfig, pollMs: number): Promise<ClusterRestoreStatus> {
  const c = await nsxvClient(config.nsx);
  for (;;) {
    const v = await c.version().catch(() => undefined);
    Context.current().heartbeat({ back: !!v });
    if (v) return { status: { value: 'SUCCESS' }, step: { step_number: 1, value: `NSX Manager ${v} is back` } };
    await Context.current().sleep(pollMs);
  }
}
export { await_ as await };
