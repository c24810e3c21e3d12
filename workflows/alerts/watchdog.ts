import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import { formatDuration, parseDuration } from '../../src/domain/duration.js';
import { SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import { loadSite } from '../site-config.js';
import { notifyContacts } from './notify.js';

export interface WatchdogResult {
  site: string;
  newestGood?: { setId: string; startedAt: string };
  stale: boolean;
  alerted: string[];
}

const quick = proxyActivities<typeof activities>({ startToCloseTimeout: '2m', retry: { initialInterval: '5s', maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] } });

/**
 * The backup watchdog of a site (its schedule runs it every alerts.checkEvery): alerts once when
 * the newest complete, verified set is older than alerts.maxAgeWithoutGoodSet — the backup that
 * silently stopped running — and once for each set whose run was abandoned (terminated, timed out),
 * which no run is left to report.
 */
export async function backupWatchdog({ site }: { site: string }): Promise<WatchdogResult> {
  upsertSearchAttributes([
    { key: SddcSite, value: site },
    { key: SddcOperation, value: 'backup-watchdog' },
  ]);
  const { config, webhooks } = await loadSite(site, 'The backup watchdog');
  if (!config.alerts) return { site, stale: false, alerted: [] };
  const maxAgeMs = config.alerts.maxAgeWithoutGoodSet ? parseDuration(config.alerts.maxAgeWithoutGoodSet) : undefined;
  const health = await quick.checkBackupHealth.executeWithOptions({ summary: `Catalog of ${site}: newest good set, abandoned runs` }, [{ target: config.backupTarget, site, ...(maxAgeMs !== undefined ? { maxAgeMs } : {}) }]);
  const alerted: string[] = [];
  const tell = (kind: 'backup-abandoned' | 'no-recent-good-set', key: string, subject: string, lines: string[]) =>
    notifyContacts({ contacts: config.alerts!.notify, webhooks, key: `watchdog-${site}-${key}`, notification: { kind, subject, lines, site } });

  for (const a of health.abandoned) {
    await tell('backup-abandoned', `abandoned-${a.setId}`, `Backup of site ${site} was abandoned (set ${a.setId})`, [
      `• its run ${a.workflowId}, started ${a.startedAt}, ended without finishing the set (terminated, timed out, or lost with its worker and server)`,
      'The set is not a good set; retention frees its files once a newer good set exists.',
    ]);
    alerted.push(`abandoned ${a.setId}`);
  }
  const staleNow = health.stale && !health.staleAlreadyAlerted;
  if (staleNow) {
    const g = health.newestGood;
    await tell('no-recent-good-set', `stale-${health.staleKey}`, `No recent good backup of site ${site}`, [
      g ? `• the newest complete, verified set is ${g.setId}, taken ${formatDuration(g.ageMs)} ago (limit ${config.alerts.maxAgeWithoutGoodSet})` : `• the site has no complete, verified set at all (limit ${config.alerts.maxAgeWithoutGoodSet})`,
      'Is the backup schedule paused or failing? `sddc-ops schedule describe` and `sddc-ops backup list` show it.',
    ]);
    alerted.push(`no good set since ${g?.startedAt ?? 'ever'}`);
  }
  if (health.abandoned.length || staleNow) {
    await quick.recordWatchdogAlerts.executeWithOptions({ summary: 'Remember what was alerted' }, [
      { target: config.backupTarget, abandoned: health.abandoned.map((a) => a.setId), ...(staleNow ? { staleFor: health.staleKey } : {}) },
    ]);
  }
  return { site, ...(health.newestGood ? { newestGood: { setId: health.newestGood.setId, startedAt: health.newestGood.startedAt } } : {}), stale: health.stale, alerted };
}
