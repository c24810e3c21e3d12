import type { CatalogStatus } from './backup-set.js';
import type { BackupTarget } from '../config/schema.js';
import { parseDuration } from './duration.js';

/**
 * Which backup sets to keep: pure rules, no I/O, shared by the prune activity and the CLI's dry run.
 *
 * Only a `complete` set (verified, and its latest re-verification passed) is a good set; every
 * rule counts good sets only. Damaged, failed, cancelled and abandoned sets never count as good and
 * never protect anything.
 * - A set whose backup is still running is never expired.
 * - The newest complete set is never expired, nor the newest restore-tested one (a drill proved it
 *   restores) unless it is past maxAge.
 * - keepLast: the newest N complete sets. daily / weekly / monthly (GFS): the newest complete set of
 *   each of the N most recent days / ISO weeks / months that have one.
 * - maxAge caps everything above (except the newest complete set).
 * - A set that is not good is expired once a newer complete set exists, or past maxAge.
 * - A set marked `deleting` (an interrupted prune) is always expired: the next prune finishes it.
 * - With no rule at all, nothing is expired (except `deleting` sets).
 */
export interface RetentionPolicy {
  keepLast?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  maxAgeMs?: number;
}

export interface SetSummary {
  setId: string;
  status: CatalogStatus;
  startedAtMs: number;
  /** A restore drill brought this set back as captured. */
  restoreTested?: boolean;
}

export interface RetentionDecision {
  keep: { setId: string; reasons: string[] }[];
  expire: { setId: string; reason: string }[];
}

const dayKey = (t: number) => new Date(t).toISOString().slice(0, 10);
const monthKey = (t: number) => new Date(t).toISOString().slice(0, 7);
function isoWeekKey(t: number): string {
  const d = new Date(t);
  const day = (d.getUTCDay() + 6) % 7; // Monday = 0
  const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day + 3));
  const firstThursday = new Date(Date.UTC(thursday.getUTCFullYear(), 0, 4));
  const week = 1 + Math.round((thursday.getTime() - firstThursday.getTime()) / 604_800_000 - ((firstThursday.getUTCDay() + 6) % 7 - 3) / 7);
  return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export function hasRules(p: RetentionPolicy): boolean {
  return [p.keepLast, p.daily, p.weekly, p.monthly, p.maxAgeMs].some((v) => v !== undefined);
}

export function decideRetention(sets: SetSummary[], policy: RetentionPolicy, nowMs: number): RetentionDecision {
  const reasons = new Map<string, string[]>();
  const keep = (id: string, why: string) => reasons.set(id, [...(reasons.get(id) ?? []), why]);
  const expire: RetentionDecision['expire'] = [];
  const byNewest = [...sets].sort((a, b) => b.startedAtMs - a.startedAtMs || b.setId.localeCompare(a.setId));
  const complete = byNewest.filter((s) => s.status === 'complete');
  const newestComplete = complete[0];

  for (const s of byNewest) if (s.status === 'running') keep(s.setId, 'backup still running');
  if (newestComplete) keep(newestComplete.setId, 'newest complete set');
  for (const s of byNewest) if (s.status === 'deleting') expire.push({ setId: s.setId, reason: 'an earlier prune was interrupted: finishing it' });
  const decided = (s: SetSummary) => reasons.has(s.setId) || s.status === 'deleting';
  if (!hasRules(policy)) {
    for (const s of byNewest) if (!decided(s)) keep(s.setId, 'no retention rules');
    return { keep: [...reasons].map(([setId, r]) => ({ setId, reasons: r })), expire };
  }

  const tooOld = (s: SetSummary) => policy.maxAgeMs !== undefined && nowMs - s.startedAtMs > policy.maxAgeMs;
  const newestTested = complete.find((s) => s.restoreTested);
  if (newestTested && !tooOld(newestTested)) keep(newestTested.setId, 'newest restore-tested set');
  const selected = new Map<string, string[]>();
  const select = (id: string, why: string) => selected.set(id, [...(selected.get(id) ?? []), why]);
  complete.slice(0, policy.keepLast ?? 0).forEach((s, i) => select(s.setId, `last ${policy.keepLast} (#${i + 1})`));
  const bucket = (n: number | undefined, key: (t: number) => string, label: string) => {
    if (!n) return;
    const seen = new Set<string>();
    for (const s of complete) {
      const k = key(s.startedAtMs);
      if (seen.has(k)) continue;
      if (seen.size >= n) break;
      seen.add(k);
      select(s.setId, `${label} ${k}`);
    }
  };
  bucket(policy.daily, dayKey, 'daily');
  bucket(policy.weekly, isoWeekKey, 'weekly');
  bucket(policy.monthly, monthKey, 'monthly');
  if (policy.maxAgeMs !== undefined && policy.keepLast === undefined && !policy.daily && !policy.weekly && !policy.monthly) {
    // Only a maximum age: everything younger than it stays.
    for (const s of complete) select(s.setId, 'younger than the maximum age');
  }

  for (const s of byNewest) {
    if (decided(s)) continue;
    if (s.status !== 'complete') {
      if (tooOld(s)) expire.push({ setId: s.setId, reason: `${s.status} set past the maximum age` });
      else if (newestComplete && s.startedAtMs < newestComplete.startedAtMs) expire.push({ setId: s.setId, reason: `${s.status} set superseded by a newer complete set` });
      else keep(s.setId, `${s.status}, no newer complete set yet`);
      continue;
    }
    const why = selected.get(s.setId);
    if (why && !tooOld(s)) why.forEach((w) => keep(s.setId, w));
    else expire.push({ setId: s.setId, reason: why ? 'past the maximum age' : 'not selected by any retention rule' });
  }
  return { keep: [...reasons].map(([setId, r]) => ({ setId, reasons: r })), expire };
}

/** The policy a target's config asks for; undefined when it sets none. */
export function retentionPolicyOf(target: BackupTarget): RetentionPolicy | undefined {
  const r = target.retention;
  if (!r) return undefined;
  return { keepLast: r.keepLast, daily: r.daily, weekly: r.weekly, monthly: r.monthly, maxAgeMs: r.maxAge ? parseDuration(r.maxAge) : undefined };
}
