import { Context } from '@temporalio/activity';
import type { BackupTarget } from '../../src/config/schema.js';
import { readCatalog } from '../../src/catalog/catalog.js';
import { catalogStatuses } from '../../src/catalog/prune.js';
import { SftpStore } from '../../src/catalog/store.js';
import { runLivenessFrom } from '../../src/temporal/run-liveness.js';
import { withTargetSftp } from '../endpoints.js';
import { guarded } from '../failures.js';
import { recordNewestGoodAge } from '../metrics.js';

/** What the watchdog already said, kept beside the backups (alerts/watchdog.json): each alert goes out once. */
export interface WatchdogState {
  abandonedAlerted: string[];
  /** The newest good set (or "none") the last "no recent good set" alert was about. */
  staleAlertedFor?: string;
  staleAlertedAt?: string;
}

export interface BackupHealth {
  newestGood?: { setId: string; startedAt: string; ageMs: number };
  /** No complete, verified set younger than the limit. */
  stale: boolean;
  /** Which episode of staleness this is (the newest good set's id, or "none"): alerted once each. */
  staleKey: string;
  staleAlreadyAlerted: boolean;
  /** Sets whose run ended without finishing them (terminated, timed out, lost), not yet alerted. */
  abandoned: { setId: string; startedAt: string; workflowId: string }[];
}

const STATE = 'alerts/watchdog.json';

/** Reads the site's catalog (Temporal says which running sets' runs have ended) and what was already alerted. */
export async function checkBackupHealth(i: { target: BackupTarget; site: string; maxAgeMs?: number }): Promise<BackupHealth> {
  return guarded(async () =>
    withTargetSftp(i.target, async (s) => {
      const store = new SftpStore(s, i.target.directory);
      const catalog = await readCatalog(store);
      const now = Date.now();
      const statuses = await catalogStatuses(catalog, now, runLivenessFrom(Context.current().client));
      const mine = catalog.sets.filter((m) => m.site === i.site).sort((a, b) => b.startedAt.localeCompare(a.startedAt));
      const good = mine.find((m) => statuses.get(m.setId) === 'complete');
      const text = await store.readTextIfPresent(STATE);
      const state: WatchdogState = text ? JSON.parse(text) : { abandonedAlerted: [] };
      const newestGood = good ? { setId: good.setId, startedAt: good.startedAt, ageMs: now - Date.parse(good.startedAt) } : undefined;
      recordNewestGoodAge(i.site, newestGood ? newestGood.ageMs / 1000 : undefined);
      const stale = i.maxAgeMs !== undefined && (!newestGood || newestGood.ageMs > i.maxAgeMs);
      const staleKey = newestGood?.setId ?? 'none';
      return {
        ...(newestGood ? { newestGood } : {}),
        stale,
        staleKey,
        staleAlreadyAlerted: state.staleAlertedFor === staleKey,
        abandoned: mine
          .filter((m) => statuses.get(m.setId) === 'abandoned' && !state.abandonedAlerted.includes(m.setId))
          .map((m) => ({ setId: m.setId, startedAt: m.startedAt, workflowId: m.workflow.workflowId })),
      };
    }),
  );
}

/** Records what was alerted, after it was sent (at least once: a crash in between sends it again, with the same idempotency key). */
export async function recordWatchdogAlerts(i: { target: BackupTarget; abandoned: string[]; staleFor?: string }): Promise<void> {
  return guarded(async () =>
    withTargetSftp(i.target, async (s) => {
      const store = new SftpStore(s, i.target.directory);
      const text = await store.readTextIfPresent(STATE);
      const state: WatchdogState = text ? JSON.parse(text) : { abandonedAlerted: [] };
      const next: WatchdogState = {
        abandonedAlerted: [...new Set([...state.abandonedAlerted, ...i.abandoned])].slice(-500),
        ...(i.staleFor ? { staleAlertedFor: i.staleFor, staleAlertedAt: new Date().toISOString() } : { staleAlertedFor: state.staleAlertedFor, staleAlertedAt: state.staleAlertedAt }),
      };
      await store.mkdirp('alerts');
      await store.writeAtomic(STATE, JSON.stringify(next, null, 2) + '\n');
    }),
  );
}
