import type { BackupSetManifest, CatalogStatus } from '../domain/backup-set.js';

/** Backup health of one site, from its catalog: what `report` shows and charts. Pure. */
export interface SiteHealth {
  site: string;
  generatedAt: string;
  newestGood?: { setId: string; startedAt: string; ageHours: number };
  newestRestoreTested?: { setId: string; at: string; drillRun: string };
  /** Complete sets over the sets that ended (complete, damaged, failed, cancelled, abandoned) in the window. */
  successRate: { days30?: number; days90?: number; runs30: number; runs90: number };
  /** One point per set that ended, oldest first: what the charts plot. */
  series: { setId: string; startedAt: string; status: CatalogStatus; bytes: number; durationMinutes: number }[];
  problems: { setId: string; status: CatalogStatus; reason?: string }[];
  /** IKS clusters of the newest good set whose app owners have not confirmed their backups. */
  pendingAppData: string[];
  nextScheduledRun?: string;
}

const ENDED: CatalogStatus[] = ['complete', 'damaged', 'failed', 'cancelled', 'abandoned'];

export function siteHealth(site: string, sets: BackupSetManifest[], statuses: Map<string, CatalogStatus>, nowMs: number, nextScheduledRun?: Date): SiteHealth {
  const mine = sets.filter((m) => m.site === site).sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  const status = (m: BackupSetManifest) => statuses.get(m.setId) ?? m.status;
  const good = [...mine].reverse().find((m) => status(m) === 'complete');
  const tested = [...mine].reverse().find((m) => status(m) === 'complete' && m.restoreTested);
  const rate = (days: number) => {
    const inWindow = mine.filter((m) => ENDED.includes(status(m)) && nowMs - Date.parse(m.startedAt) <= days * 86_400_000);
    const ok = inWindow.filter((m) => status(m) === 'complete').length;
    return { runs: inWindow.length, rate: inWindow.length ? Math.round((ok / inWindow.length) * 1000) / 10 : undefined };
  };
  const [r30, r90] = [rate(30), rate(90)];
  return {
    site,
    generatedAt: new Date(nowMs).toISOString(),
    ...(good ? { newestGood: { setId: good.setId, startedAt: good.startedAt, ageHours: Math.round((nowMs - Date.parse(good.startedAt)) / 360_000) / 10 } } : {}),
    ...(tested?.restoreTested ? { newestRestoreTested: { setId: tested.setId, at: tested.restoreTested.at, drillRun: tested.restoreTested.drillRun } } : {}),
    successRate: { ...(r30.rate !== undefined ? { days30: r30.rate } : {}), ...(r90.rate !== undefined ? { days90: r90.rate } : {}), runs30: r30.runs, runs90: r90.runs },
    series: mine
      .filter((m) => ENDED.includes(status(m)) && m.endedAt)
      .map((m) => ({ setId: m.setId, startedAt: m.startedAt, status: status(m), bytes: m.totals.bytes, durationMinutes: Math.round(((Date.parse(m.endedAt) - Date.parse(m.startedAt)) / 60_000) * 100) / 100 })),
    problems: mine.filter((m) => ['damaged', 'abandoned', 'failed'].includes(status(m))).map((m) => ({ setId: m.setId, status: status(m), ...(m.failureReason ? { reason: m.failureReason } : {}) })),
    pendingAppData: good ? (good.iks ?? []).filter((k) => !good.appData?.[k.clusterId]).map((k) => k.name) : [],
    ...(nextScheduledRun ? { nextScheduledRun: nextScheduledRun.toISOString() } : {}),
  };
}
