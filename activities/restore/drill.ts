import type { BackupTarget, DrillConfig, NsxConfig, SiteConfig, VcenterConfig } from '../../src/config/schema.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { HttpError, send } from '../../src/providers/http.js';
import { parseDuration } from '../../src/domain/duration.js';
import { readManifest, recordDrill, SetNotFoundError } from '../../src/catalog/catalog.js';
import { SftpStore } from '../../src/catalog/store.js';
import type { DrillRecord } from '../../src/domain/backup-set.js';
import { compareInventory, describeDifference, inventoryCounts, type CapturedInventory, type InventoryItem } from '../../src/domain/inventory.js';
import { readNsxTInventory, readNsxvInventory, readVcenterInventory } from '../../src/inventory/read.js';
import { NsxvClient } from '../../src/providers/nsxv/client.js';
import { NsxClient } from '../../src/providers/nsx/client.js';
import { withVcenter } from '../../src/providers/vcenter/client.js';
import { nsxEndpoint, withTargetSftp, vcenterEndpoint } from '../endpoints.js';
import { guarded, nonRetryable } from '../failures.js';
import { tlsOf } from '../../src/providers/tls.js';

async function nsxInventory(nsx: NsxConfig): Promise<InventoryItem[]> {
  const ep = await nsxEndpoint(nsx);
  return nsx.flavor === 'nsx-v' ? readNsxvInventory(new NsxvClient(ep)) : readNsxTInventory(new NsxClient(ep));
}

async function vcenterInventory(vcenter: VcenterConfig): Promise<InventoryItem[]> {
  return withVcenter(await vcenterEndpoint(vcenter), readVcenterInventory);
}

/**
 * The configuration the products hold as a backup begins: what a restore of that backup must bring
 * back. Read-only; recorded in the set's manifest for restore drills.
 */
export async function captureInventory(i: { nsx: NsxConfig; vcenter: VcenterConfig }): Promise<CapturedInventory> {
  return guarded(async () => {
    const [nsx, vcenter] = await Promise.all([nsxInventory(i.nsx), vcenterInventory(i.vcenter)]);
    return { at: new Date().toISOString(), nsx, vcenter };
  });
}

export interface DrillComparison {
  differences: string[];
  compared: { nsx: string; vcenter: string };
}

/**
 * Reads what the restore brought back into the sandbox (the config given is the site's with the
 * sandbox endpoints) and compares it with what the set captured at backup time.
 */
export async function compareRestoredInventory(i: { config: SiteConfig; setId: string }): Promise<DrillComparison> {
  return guarded(async () => {
    const t = i.config.backupTarget;
    const manifest = await withTargetSftp(t, (s) => readManifest(new SftpStore(s, t.directory), i.setId)).catch((err: Error) => {
      if (err instanceof SetNotFoundError) throw nonRetryable('NotFound', err.message);
      throw err;
    });
    if (!manifest.captured) {
      throw nonRetryable('DrillFailed', `set ${i.setId} has no captured inventory (it was made by an older version, or the capture failed): a drill cannot tell whether the restore brought back what was backed up`);
    }
    const [nsx, vcenter] = await Promise.all([nsxInventory(i.config.nsx), vcenterInventory(i.config.vcenter)]);
    const differences = compareInventory(manifest.captured, { nsx, vcenter }).map(describeDifference);
    return { differences, compared: { nsx: inventoryCounts(manifest.captured.nsx), vcenter: inventoryCounts(manifest.captured.vcenter) } };
  });
}

/** Records the drill in the set's manifest (a passed one marks the set restore-tested). */
export async function recordDrillOutcome(i: { target: BackupTarget; setId: string; record: DrillRecord }): Promise<void> {
  return guarded(async () => {
    await withTargetSftp(i.target, (s) => recordDrill(new SftpStore(s, i.target.directory), i.setId, i.record));
  });
}

/**
 * What the drill sandbox holds, kept beside the backups (drills/sandbox.json): `restored` after a
 * drill that ran to its end, `dirty` when one stopped part-way (cancelled, failed) — then the
 * sandbox appliances must be redeployed before the next drill, which refuses until told they were.
 */
export interface SandboxRecord {
  state: 'in-use' | 'restored' | 'dirty';
  site: string;
  setId?: string;
  drillRun: string;
  at: string;
  reason?: string;
}

const SANDBOX_RECORD = 'drills/sandbox.json';

export async function readSandboxRecord(i: { target: BackupTarget }): Promise<SandboxRecord | undefined> {
  return guarded(async () =>
    withTargetSftp(i.target, async (s) => {
      const text = await new SftpStore(s, i.target.directory).readTextIfPresent(SANDBOX_RECORD);
      return text ? (JSON.parse(text) as SandboxRecord) : undefined;
    }),
  );
}

export async function writeSandboxRecord(i: { target: BackupTarget; record: SandboxRecord }): Promise<void> {
  return guarded(async () =>
    withTargetSftp(i.target, async (s) => {
      const store = new SftpStore(s, i.target.directory);
      await store.mkdirp('drills');
      await store.writeAtomic(SANDBOX_RECORD, JSON.stringify(i.record, null, 2) + '\n');
    }),
  );
}

/**
 * Asks the operator's automation to deploy both sandbox appliances anew (drill.sandbox.redeploy):
 * one POST, answered 2xx when they are ready. The URL is a secret reference (it may hold a token).
 */
export async function redeploySandbox(i: { redeploy: NonNullable<DrillConfig['sandbox']['redeploy']>; site: string; drillRun: string; setId: string }): Promise<{ status: number }> {
  return guarded(async () => {
    const url = await resolveSecret(i.redeploy.url);
    const res = await send({
      method: 'POST',
      url,
      body: { site: i.site, drillRun: i.drillRun, setId: i.setId },
      headers: { 'idempotency-key': `${i.drillRun}-redeploy` },
      timeoutMs: parseDuration(i.redeploy.timeout),
      ...tlsOf(i.redeploy),
      secretUrl: true,
    });
    if (res.status >= 300) throw new HttpError(`sandbox redeploy hook at ${new URL(url).host}`, 'POST', new URL(url).origin, res.status, res.text.slice(0, 300));
    return { status: res.status };
  });
}

const SANDBOX_CLAIM = 'drills/sandbox.claim';

/**
 * One drill at a time per sandbox, whichever way drills start (scheduled, manual): the claim file
 * is created only if none exists (atomically on the server). A claim left by a drill that has ended
 * (killed, terminated) is taken over when the caller names it in `takeOverFrom`.
 */
export async function claimSandbox(i: { target: BackupTarget; drillRun: string; takeOverFrom?: string }): Promise<{ claimed: boolean; holder?: string }> {
  return guarded(async () =>
    withTargetSftp(i.target, async (s) => {
      const store = new SftpStore(s, i.target.directory);
      await store.mkdirp('drills');
      for (let tries = 0; tries < 3; tries++) {
        if (await store.createExclusive(SANDBOX_CLAIM, i.drillRun)) return { claimed: true };
        const holder = (await store.readTextIfPresent(SANDBOX_CLAIM))?.trim();
        if (holder === undefined) continue; // released meanwhile: try again
        if (holder === i.drillRun) return { claimed: true }; // a retry of this call
        if (holder !== i.takeOverFrom) return { claimed: false, holder };
        await store.writeAtomic(SANDBOX_CLAIM, i.drillRun);
        return { claimed: true };
      }
      return { claimed: false };
    }),
  );
}

export async function releaseSandbox(i: { target: BackupTarget; drillRun: string }): Promise<void> {
  return guarded(async () =>
    withTargetSftp(i.target, async (s) => {
      const store = new SftpStore(s, i.target.directory);
      if ((await store.readTextIfPresent(SANDBOX_CLAIM))?.trim() === i.drillRun) await store.remove(SANDBOX_CLAIM);
    }),
  );
}
