import { Context } from '@temporalio/activity';
import type { SiteConfig } from '../../src/config/schema.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { readCatalog } from '../../src/catalog/catalog.js';
import { SftpStore } from '../../src/catalog/store.js';
import { HttpError } from '../../src/providers/http.js';
import { NsxClient } from '../../src/providers/nsx/client.js';
import type { ClusterRestoreStatus } from '../../src/providers/nsx/types.js';
import { withVcenter, type VcenterClient } from '../../src/providers/vcenter/client.js';
import type { RestoreRequest } from '../../src/providers/vcenter/types.js';
import { pickRestoreSet, RestorePlanError, restoreRunbook, type RestoreRunbook } from '../../src/restore/runbook.js';
import { nsxEndpoint, withTargetSftp, vcenterEndpoint } from '../endpoints.js';
import { guarded, nonRetryable } from '../failures.js';
import { nsxVersionOf } from '../backup/backup-target.js';
import * as nsxvRestore from './nsxv-restore.js';

/** The runbook of the set to restore, from the catalog on the site's target (see src/restore/runbook.ts). */
export async function planRestore(i: { site: string; config: SiteConfig; setId?: string; force?: boolean }): Promise<RestoreRunbook> {
  return guarded(async () => {
    const t = i.config.backupTarget;
    const catalog = await withTargetSftp(t, (s) => readCatalog(new SftpStore(s, t.directory)));
    try {
      const picked = pickRestoreSet(catalog.sets, i.site, { setId: i.setId, force: i.force, nowMs: Date.now() });
      return restoreRunbook(picked.manifest, i.config, picked);
    } catch (err) {
      if (err instanceof RestorePlanError) throw nonRetryable('BadRequest', err.message);
      throw err;
    }
  });
}

/** The appliance restore request: the archive's location and the secrets it needs, resolved here and nowhere else. */
async function restoreRequest(config: SiteConfig, r: RestoreRunbook): Promise<RestoreRequest> {
  const t = config.backupTarget;
  return {
    location_type: 'SFTP',
    location: r.vcenter.location,
    location_user: t.user,
    location_password: await resolveSecret(t.password ?? ''),
    backup_password: await resolveSecret(r.vcenter.backupPasswordRef),
    sso_admin_user_name: config.vcenter.user,
    sso_admin_password: await resolveSecret(config.vcenter.password),
    ignore_warnings: false,
  };
}

async function vcenter<T>(config: SiteConfig, fn: (c: VcenterClient) => Promise<T>): Promise<T> {
  return withVcenter(await vcenterEndpoint(config.vcenter), fn);
}

/**
 * Before anything changes: the new vCenter answers in restore mode and accepts the archive (its
 * location, login and backup password: `restore?action=validate`), and the new NSX Manager answers.
 */
export async function precheckRestoreTargets(i: { config: SiteConfig; runbook: RestoreRunbook }): Promise<{ archiveVersion: string; nsxVersion: string }> {
  return guarded(async () => {
    let archiveVersion: string;
    try {
      archiveVersion = (await vcenter(i.config, async (c) => c.validateRestore(await restoreRequest(i.config, i.runbook)))).version;
    } catch (err) {
      if (err instanceof HttpError && err.status === 400) throw nonRetryable('RestoreRefused', `nothing was changed: the vCenter at ${i.runbook.vcenter.address} refuses the archive: ${err.detail}`);
      throw err;
    }
    if (i.config.nsx.flavor === 'nsx-v') return { archiveVersion, nsxVersion: await nsxvRestore.version(i.config) }; // NSX-V shows no restore state to check
    const nsx = new NsxClient(await nsxEndpoint(i.config.nsx));
    const nsxVersion = (await nsx.getNodeVersion()).product_version ?? '';
    // A restore goes onto a freshly deployed manager: one that already ran a restore holds that one's configuration.
    const before = await nsx.getRestoreStatus().catch(() => undefined);
    if (before && before.status.value !== 'INITIAL') {
      throw nonRetryable('RestoreRefused', `nothing was changed: the NSX Manager at ${i.config.nsx.url} has already run a restore (${before.status.value}${before.backup_timestamp ? ` of the backup of ${new Date(before.backup_timestamp).toISOString()}` : ''}); deploy a fresh manager at that address and run the restore again`);
    }
    return { archiveVersion, nsxVersion };
  });
}

/** Starts the appliance restore job; one already running or done (a retry) is left as it is. */
export async function startVcenterRestore(i: { config: SiteConfig; runbook: RestoreRunbook }): Promise<{ how: 'started' | 'already-running' | 'already-done' }> {
  return guarded(() =>
    vcenter(i.config, async (c) => {
      const job = await c.getRestoreJob();
      if (job.state === 'INPROGRESS') return { how: 'already-running' as const };
      if (job.state === 'SUCCEEDED') return { how: 'already-done' as const };
      await c.startRestore(await restoreRequest(i.config, i.runbook));
      return { how: 'started' as const };
    }),
  );
}

/** Polls the restore job to its end, heartbeating its progress; FAILED is the appliance's own words. */
export async function awaitVcenterRestore(i: { config: SiteConfig; pollMs?: number }): Promise<{ version: string }> {
  return guarded(() =>
    vcenter(i.config, async (c) => {
      for (;;) {
        const job = await c.getRestoreJob();
        Context.current().heartbeat({ progress: job.progress });
        if (job.state === 'SUCCEEDED') return { version: (await c.getVersion()).version };
        if (job.state === 'FAILED') throw nonRetryable('RestoreFailed', `the vCenter restore failed: ${job.messages.map((m) => m.default_message).join('; ') || 'no message'} — read the appliance's restore log, fix the cause, redeploy the appliance in restore mode and run the restore again`);
        await Context.current().sleep(i.pollMs ?? 1000); // rejects when the run is cancelled
      }
    }),
  );
}

/** Points the new manager at the backups and starts the restore of the set's backup; one already started for it (a retry) is left as it is. */
export async function startNsxRestore(i: { config: SiteConfig; runbook: RestoreRunbook }): Promise<{ how: 'started' | 'already-started' }> {
  return guarded(async () => {
    if (i.config.nsx.flavor === 'nsx-v') return nsxvRestore.start(i.config, i.runbook);
    const c = new NsxClient(await nsxEndpoint(i.config.nsx));
    const r = i.runbook;
    const now = await c.getRestoreStatus().catch(() => undefined);
    if (now && now.backup_timestamp === r.nsx.timestampMs && ['RUNNING', 'SUSPENDED_FOR_USER_ACTION', 'SUCCESS'].includes(now.status.value)) return { how: 'already-started' as const };
    const t = i.config.backupTarget;
    await c.putRestoreConfig({
      remote_file_server: {
        server: t.host,
        port: t.port,
        directory_path: r.nsx.directory,
        protocol: { protocol_name: 'sftp', ssh_fingerprint: t.hostKeyFingerprint, authentication_scheme: { scheme_name: 'PASSWORD', username: t.user, password: await resolveSecret(t.password ?? '') } },
      },
      passphrase: await resolveSecret(r.nsx.passphraseRef),
    });
    const listed = await c.restoreTimestamps();
    const mine = listed.find((x) => x.timestamp === r.nsx.timestampMs && (!r.nsx.nodeId || x.node_id === r.nsx.nodeId));
    if (!mine) throw nonRetryable('RestoreRefused', `the NSX Manager does not list the set's backup (${r.nsx.backupAt}, node ${r.nsx.nodeId ?? '?'}); it lists ${listed.map((x) => new Date(x.timestamp).toISOString()).join(', ') || 'none'}`);
    await c.startRestore(mine.node_id, mine.timestamp);
    return { how: 'started' as const };
  });
}

/** Polls the NSX restore until it ends or waits for the operator (heartbeating); FAILED/ABORTED in NSX's words. */
export async function awaitNsxRestore(i: { config: SiteConfig; pollMs?: number }): Promise<ClusterRestoreStatus> {
  return guarded(async () => {
    if (i.config.nsx.flavor === 'nsx-v') return nsxvRestore.await(i.config, i.pollMs ?? 1000);
    const c = new NsxClient(await nsxEndpoint(i.config.nsx));
    for (;;) {
      const st = await c.getRestoreStatus();
      Context.current().heartbeat({ status: st.status.value, step: st.step?.value });
      if (st.status.value === 'SUCCESS' || st.status.value === 'SUSPENDED_FOR_USER_ACTION') return st;
      if (['FAILED', 'ABORTED', 'SUSPENDED', 'SUSPENDED_BY_USER'].includes(st.status.value)) {
        throw nonRetryable('RestoreFailed', `the NSX restore is ${st.status.value}${st.status.description ? `: ${st.status.description}` : ''} (step ${st.step?.value ?? '?'}) — see the manager's restore status page; a retry there (action=retry) or a new manager may be needed`);
      }
      await Context.current().sleep(i.pollMs ?? 1000); // rejects when the run is cancelled
    }
  });
}

/** Answers what NSX suspended the restore for. */
export async function advanceNsxRestore(i: { config: SiteConfig; answers: { id: string; [k: string]: unknown }[] }): Promise<void> {
  return guarded(async () => {
    await new NsxClient(await nsxEndpoint(i.config.nsx)).advanceRestore(i.answers);
  });
}

/**
 * After both stages: the versions are the set's; for NSX-T the manager has the set's node id and
 * its cluster becomes STABLE (waited for, heartbeating, up to `stableWithinMs`).
 */
export async function restorePostCheck(i: { config: SiteConfig; runbook: RestoreRunbook; pollMs?: number; stableWithinMs?: number }): Promise<{ vcenterVersion: string; nsxVersion: string; nsxClusterStatus?: string }> {
  return guarded(async () => {
    const vcenterVersion = (await vcenter(i.config, (c) => c.getVersion())).version;
    const nsxVersion = (await nsxVersionOf(i.config.nsx)) ?? '';
    const problems: string[] = [];
    if (i.runbook.vcenter.version && vcenterVersion !== i.runbook.vcenter.version) problems.push(`vCenter is ${vcenterVersion}, the set's is ${i.runbook.vcenter.version}`);
    if (i.runbook.nsx.version && nsxVersion !== i.runbook.nsx.version) problems.push(`NSX is ${nsxVersion}, the set's is ${i.runbook.nsx.version}`);
    let nsxClusterStatus: string | undefined;
    if (i.config.nsx.flavor !== 'nsx-v') {
      const n = new NsxClient(await nsxEndpoint(i.config.nsx));
      const node = await n.getNode();
      if (i.runbook.nsx.nodeId && node.node_uuid !== i.runbook.nsx.nodeId) problems.push(`the NSX Manager is node ${node.node_uuid}, the set's backup is of node ${i.runbook.nsx.nodeId}`);
      const until = Date.now() + (i.stableWithinMs ?? 30 * 60_000);
      for (;;) {
        nsxClusterStatus = (await n.getClusterStatus()).detailed_cluster_status?.overall_status ?? 'UNKNOWN';
        Context.current().heartbeat({ nsxClusterStatus });
        if (nsxClusterStatus === 'STABLE' || Date.now() >= until) break;
        await Context.current().sleep(i.pollMs ?? 5_000);
      }
      if (nsxClusterStatus !== 'STABLE') problems.push(`the NSX cluster is ${nsxClusterStatus}, not STABLE, ${Math.round((i.stableWithinMs ?? 1_800_000) / 60_000)} min after the restore — see System > Appliances`);
    }
    if (problems.length) throw nonRetryable('RestorePostcheckFailed', `post-check: ${problems.join('; ')}`);
    return { vcenterVersion, nsxVersion, ...(nsxClusterStatus ? { nsxClusterStatus } : {}) };
  });
}

/**
 * After a cancel: stops what the restore started on the products — the vCenter restore job if it
 * still runs, the NSX restore if it runs or waits — and says what it stopped. The appliances stay
 * as they are (a half-restored one must be redeployed), which the result says.
 */
export async function stopRestore(i: { config: SiteConfig }): Promise<{ stopped: string[] }> {
  return guarded(async () => {
    const stopped: string[] = [];
    await vcenter(i.config, async (c) => {
      if ((await c.getRestoreJob()).state === 'INPROGRESS') {
        await c.cancelRestore();
        stopped.push('the vCenter restore job');
      }
    }).catch(() => undefined); // a vCenter that answers nothing has nothing of ours running
    if (i.config.nsx.flavor === 'nsx-v') return { stopped }; // NSX-V cannot cancel a restore: it runs to its end
    const n = new NsxClient(await nsxEndpoint(i.config.nsx));
    const st = await n.getRestoreStatus().catch(() => undefined);
    if (st && ['RUNNING', 'SUSPENDED_FOR_USER_ACTION'].includes(st.status.value)) {
      await n.cancelRestore();
      stopped.push('the NSX restore');
    }
    return { stopped };
  });
}
