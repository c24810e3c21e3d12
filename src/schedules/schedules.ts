import { backupRunTimeoutMs } from '../domain/backup-set.js';
import { createHash } from 'node:crypto';
import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Config, ScheduleConfig, SiteConfig } from '../config/schema.js';
import { appDataRoundInput, backupInput } from '../temporal/inputs.js';
import { parseDuration } from '../domain/duration.js';
import { SddcOperation, SddcSite } from '../temporal/search-attributes.js';
import { backupWorkflowId, drillWorkflowId } from '../temporal/backup-runs.js';

export const SCHEDULE_PREFIX = 'sddc-ops.';
export const scheduleId = (site: string, purpose: string) => `${SCHEDULE_PREFIX}${site}.${purpose}`;

const OVERLAP = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'cancel-other': ScheduleOverlapPolicy.CANCEL_OTHER,
  'terminate-other': ScheduleOverlapPolicy.TERMINATE_OTHER,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
} as const;

/** Marks schedules this tool owns, where they came from, and what they were made from. */
export interface OwnerMemo {
  managedBy: 'sddc-ops';
  source: 'config' | 'cli';
  /** Hash of the schedule definition and the site config it runs with: a changed hash means update. */
  desired: string;
  /** The spec as the operator wrote it (the server keeps cron only as structured calendars), for list and describe. */
  spec?: { cron?: string; every?: string; timezone: string; jitter?: string };
}

/** A time as the clock on the wall of `timezone` shows it: "2026-11-27 02:00:00 Asia/Tokyo". */
export function inZone(t: Date, timezone: string): string {
  const f = new Intl.DateTimeFormat('sv-SE', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  return `${f.format(t)} ${timezone}`;
}

export function describeSpec(s: ScheduleConfig): string {
  return `${s.cron ? `cron "${s.cron}"` : `every ${s.every}`} ${s.timezone}${s.jitter ? ` jitter ${s.jitter}` : ''}, overlap ${s.overlap}` +
    `${s.catchup ? `, catch-up ${s.catchup}` : ''}${s.pauseOnFailure ? ', pause on failure' : ''}`;
}

export function desiredHash(site: string, args: unknown, s: ScheduleConfig, taskQueue: string): string {
  return createHash('sha256').update(JSON.stringify({ site, args, s, taskQueue })).digest('hex').slice(0, 16);
}

/**
 * The schedules a site's config asks for: those it lists, and — when it has alerts and lists no
 * watchdog — the backup watchdog, every alerts.checkEvery.
 */
export function siteSchedules(sc: SiteConfig): ScheduleConfig[] {
  const listed = sc.schedules;
  if (!sc.alerts || listed.some((x) => x.purpose === 'watchdog')) return listed;
  return [...listed, { purpose: 'watchdog', every: sc.alerts.checkEvery, timezone: 'UTC', overlap: 'skip', pauseOnFailure: false, note: 'backup watchdog (alerts), made from alerts.checkEvery' }];
}

/** What each purpose runs: the workflow, its input and how its runs are labelled. */
function actionOf(config: Config, site: string, purpose: ScheduleConfig['purpose']) {
  if (purpose === 'watchdog') {
    return { workflowType: 'backupWatchdog', workflowId: `backup-watchdog-${site}`, args: { site }, operation: 'backup-watchdog', summary: `Backup watchdog of site ${site}` };
  }
  if (purpose === 'drill') {
    return { workflowType: 'restoreDrill', workflowId: drillWorkflowId(site), args: { site }, operation: 'restore-drill', summary: `Scheduled restore drill of site ${site}` };
  }
  if (purpose === 'appdata') {
    return { workflowType: 'appDataRound', workflowId: `appdata-round-${site}`, args: appDataRoundInput(site), operation: 'appdata-round', summary: `Scheduled app-data reminders of site ${site}` };
  }
  return {
    workflowType: 'coordinatedBackup',
    workflowId: backupWorkflowId(site),
    args: backupInput(site),
    operation: 'coordinated-backup',
    summary: `Scheduled coordinated backup of site ${site}`,
    executionTimeoutMs: backupRunTimeoutMs(parseDuration(config.sites[site]!.backup.timeout)),
  };
}

export function scheduleOptions(config: Config, site: string, s: ScheduleConfig, taskQueue: string, source: OwnerMemo['source']): ScheduleOptions {
  const a = actionOf(config, site, s.purpose);
  // Runs read the site's config when they start: only what the schedule itself carries is compared.
  const args = a.args;
  const hash = desiredHash(site, { args, executionTimeoutMs: 'executionTimeoutMs' in a ? a.executionTimeoutMs : undefined }, s, taskQueue);
  const memo: OwnerMemo = { managedBy: 'sddc-ops', source, desired: hash, spec: { ...(s.cron ? { cron: s.cron } : { every: s.every }), timezone: s.timezone, ...(s.jitter ? { jitter: s.jitter } : {}) } };
  return {
    scheduleId: scheduleId(site, s.purpose),
    spec: {
      ...(s.cron ? { cronExpressions: [s.cron] } : { intervals: [{ every: parseDuration(s.every!) }] }),
      timezone: s.timezone,
      ...(s.jitter ? { jitter: parseDuration(s.jitter) } : {}),
    },
    action: {
      type: 'startWorkflow',
      workflowType: a.workflowType,
      taskQueue,
      // Temporal appends the scheduled time to this id for each run.
      workflowId: a.workflowId,
      args: [args],
      memo: memo as unknown as Record<string, unknown>,
      typedSearchAttributes: [
        { key: SddcSite, value: site },
        { key: SddcOperation, value: a.operation },
      ],
      staticSummary: a.summary,
      ...('executionTimeoutMs' in a ? { workflowExecutionTimeout: a.executionTimeoutMs } : {}),
    },
    policies: {
      overlap: OVERLAP[s.overlap],
      ...(s.catchup ? { catchupWindow: parseDuration(s.catchup) } : {}),
      pauseOnFailure: s.pauseOnFailure,
    },
    state: { note: s.note ?? `managed by sddc-ops (${source})` },
    memo: memo as unknown as Record<string, unknown>,
    typedSearchAttributes: [
      { key: SddcSite, value: site },
      { key: SddcOperation, value: a.operation },
    ],
  };
}

export function ownerOf(d: ScheduleDescription): OwnerMemo | undefined {
  const m = (d.action.type === 'startWorkflow' ? d.action.memo : undefined) as OwnerMemo | undefined;
  return m?.managedBy === 'sddc-ops' ? m : undefined;
}

/** Creates the schedule, or updates it in place when it exists (its id is stable). */
export async function upsertSchedule(client: Client, o: ScheduleOptions): Promise<'created' | 'updated'> {
  const handle = client.schedule.getHandle(o.scheduleId);
  try {
    await handle.describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    await client.schedule.create(o);
    return 'created';
  }
  await handle.update((prev) => ({ ...prev, spec: o.spec, action: o.action, policies: { ...prev.policies, ...o.policies } }));
  return 'updated';
}

export interface ScheduleChange {
  op: 'create' | 'update' | 'delete' | 'unchanged';
  scheduleId: string;
  detail: string;
}

/** What `schedule apply` would do to make the server match the config file. */
export async function planApply(
  client: Client,
  wanted: { options: ScheduleOptions; describe: string }[],
): Promise<ScheduleChange[]> {
  // Describe is consistent at once; the list (visibility) may lag, so it only finds deletions.
  const existing = new Map<string, OwnerMemo | undefined>();
  const lookup = async (id: string) => {
    try {
      existing.set(id, ownerOf(await client.schedule.getHandle(id).describe()));
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    }
  };
  for (const w of wanted) await lookup(w.options.scheduleId);
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(SCHEDULE_PREFIX) && !existing.has(s.scheduleId)) await lookup(s.scheduleId);
  }
  const changes: ScheduleChange[] = [];
  for (const w of wanted) {
    const id = w.options.scheduleId;
    const owner = existing.get(id);
    const want = (w.options.memo as unknown as OwnerMemo).desired;
    if (!existing.has(id)) changes.push({ op: 'create', scheduleId: id, detail: w.describe });
    else if (!owner) changes.push({ op: 'unchanged', scheduleId: id, detail: 'exists but is not managed by sddc-ops: left alone' });
    else if (owner.desired !== want || owner.source !== 'config') changes.push({ op: 'update', scheduleId: id, detail: w.describe });
    else changes.push({ op: 'unchanged', scheduleId: id, detail: w.describe });
  }
  const wantedIds = new Set(wanted.map((w) => w.options.scheduleId));
  for (const [id, owner] of existing) {
    if (!wantedIds.has(id) && owner?.source === 'config') changes.push({ op: 'delete', scheduleId: id, detail: 'no longer in the config file' });
  }
  return changes;
}
