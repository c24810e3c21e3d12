import { Command } from 'commander';
import { COMMAND_SUMMARIES } from './summaries.js';
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { loadConfig, siteOf } from '../config/load.js';
import { scheduleNote, scheduleSchema, type Config, type ScheduleConfig } from '../config/schema.js';
import { describeSpec, inZone, planApply, scheduleId, scheduleOptions, SCHEDULE_PREFIX, siteSchedules, upsertSchedule, type OwnerMemo } from '../schedules/schedules.js';
import { connectOrExplain, requireWorker } from './backup-run.js';
import { addConnectionOptions, type ConnectionOpts } from './common.js';
import { CliError, EXIT, info, printJson, formatTable } from './output.js';

type Opts = ConnectionOpts & { config?: string; json?: boolean };

const FLAG_OF: Record<string, string> = { cron: '--cron', every: '--every', timezone: '--tz', jitter: '--jitter', overlap: '--overlap', catchup: '--catchup', purpose: '--purpose', note: '--note' };

/** Validates schedule flags locally, before any server is contacted. */
export function scheduleFromFlags(f: Record<string, unknown>): ScheduleConfig {
  const r = scheduleSchema.safeParse({
    purpose: f.purpose,
    cron: f.cron,
    every: f.every,
    timezone: f.tz,
    jitter: f.jitter,
    overlap: f.overlap,
    catchup: f.catchup,
    pauseOnFailure: !!f.pauseOnFailure,
    note: f.note,
  });
  if (!r.success) {
    throw new CliError(r.error.issues.map((i) => `${FLAG_OF[String(i.path[0])] ?? 'flags'}: ${i.message}`).join('\n'), EXIT.BAD_INPUT);
  }
  return r.data;
}

async function withClient<T>(o: Opts, fn: (client: Client, config: Config | undefined, file: string | undefined) => Promise<T>, warnIfNoWorker?: (config: Config | undefined) => string): Promise<T> {
  const loaded = o.config || process.env.SDDC_OPS_CONFIG ? loadConfig(o.config) : undefined;
  const conn = await connectOrExplain(o, loaded?.config.temporal);
  try {
    // The schedule starts its runs later: say now when nobody would run them (they would wait unseen).
    if (warnIfNoWorker) await requireWorker(conn, o.taskQueue ?? warnIfNoWorker(loaded?.config), { wait: false, config: loaded?.file });
    return await fn(conn.client, loaded?.config, loaded?.file);
  } finally {
    await conn.connection.close();
  }
}
const queueOf = (config: Config | undefined) => config?.temporal.taskQueue ?? 'sddc-ops';

/** The spec as written (from the owner memo), else what the server says of the time zone. */
function specOf(memo: OwnerMemo | undefined, timezone?: string): { cron?: string; every?: string; timezone?: string; jitter?: string } {
  return memo?.spec ?? (timezone ? { timezone } : {});
}
const ownerOfAction = (d: { action: { type: string; memo?: unknown } }) => (d.action.type === 'startWorkflow' ? d.action.memo : undefined);

/** A schedule is named by its id, or by site (and --purpose). */
function idOf(nameOrId: string, purpose = 'backup'): string {
  return nameOrId.startsWith(SCHEDULE_PREFIX) ? nameOrId : scheduleId(nameOrId, purpose);
}

function notFound(id: string): CliError {
  return new CliError(`no schedule ${id}; see \`sddc-ops schedule list\``, EXIT.BAD_INPUT);
}

async function handleOf(client: Client, id: string) {
  const h = client.schedule.getHandle(id);
  try {
    return { handle: h, desc: await h.describe() };
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw notFound(id);
    throw err;
  }
}

function parseTime(v: string, flag: string): Date {
  const t = new Date(v);
  if (Number.isNaN(t.getTime())) throw new CliError(`${flag}: "${v}" is not a date-time (write e.g. 2026-11-01T00:00:00Z)`, EXIT.BAD_INPUT);
  return t;
}

export function scheduleCommand(): Command {
  const schedule = new Command('schedule').description(COMMAND_SUMMARIES.schedule)
  const withConn = (c: Command) => addConnectionOptions(c.option('--config <file>', 'config file').option('--json', 'machine-readable output'));

  withConn(
    schedule
      .command('create')
      .description('Create (or update) the backup schedule of a site. The cron expression and time zone are checked here before the server is contacted.')
      .requiredOption('--site <name>', 'site from the config file (its config becomes the scheduled runs\' input)')
      .option('--cron <expr>', 'five fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *"')
      .option('--every <duration>', 'instead of --cron: a fixed interval, e.g. 1h')
      .option('--tz <iana>', 'IANA time zone for the cron expression', 'UTC')
      .option('--jitter <duration>', 'random delay added to each run, e.g. 5m')
      .option('--overlap <policy>', 'skip | buffer-one | buffer-all | cancel-other | terminate-other | allow-all', 'skip')
      .option('--catchup <duration>', 'how late a missed run may still start, e.g. 1h')
      .option('--pause-on-failure', 'pause the schedule when a run fails')
      .option('--note <text>', 'note shown with the schedule')
      .option('--purpose <purpose>', 'what it runs: backup (coordinated backup), appdata (app-data reminders of the site\'s IKS clusters) drill (a restore drill into the site\'s sandbox) or watchdog (alerts on stale or abandoned backups)', 'backup')
      .addHelpText('after', '\nExample:\n  sddc-ops schedule create --site tokyo-1 --cron "0 2 * * *" --tz Asia/Tokyo --jitter 5m\n'),
  ).action(async (f: Opts & Record<string, unknown> & { site: string }) => {
    const s = scheduleFromFlags(f);
    const { config, file } = loadConfig(f.config);
    const site = siteOf(config, file, f.site);
    if (s.purpose === 'drill' && !site.drill) throw new CliError(`site ${f.site} has no drill.sandbox in ${file}: a drill needs somewhere to restore to`, EXIT.BAD_INPUT);
    if (s.purpose === 'watchdog' && !site.alerts) throw new CliError(`site ${f.site} has no alerts in ${file}: a watchdog needs someone to tell (alerts.notify)`, EXIT.BAD_INPUT);
    await withClient({ ...f, config: file }, async (client) => {
      const opts = scheduleOptions(config, f.site, s, f.taskQueue ?? config.temporal.taskQueue, 'cli');
      const what = await upsertSchedule(client, opts);
      const d = await client.schedule.getHandle(opts.scheduleId).describe();
      if (f.json) printJson({ scheduleId: opts.scheduleId, result: what, nextActionTimes: d.info.nextActionTimes.slice(0, 5) });
      else info(`${what} schedule ${opts.scheduleId}: ${describeSpec(s)}\nnext runs: ${d.info.nextActionTimes.slice(0, 5).map((t) => t.toISOString()).join(', ')}`);
    }, queueOf);
  });

  withConn(schedule.command('list').description('List the schedules sddc-ops manages: what they run, when (cron or interval, time zone, jitter) and the next run in their own time zone')).action(async (o: Opts) => {
    await withClient(o, async (client) => {
      const rows = [];
      for await (const s of client.schedule.list()) {
        if (!s.scheduleId.startsWith(SCHEDULE_PREFIX)) continue;
        const spec = specOf(s.memo as OwnerMemo | undefined);
        const next = s.info.nextActionTimes[0];
        rows.push({ scheduleId: s.scheduleId, paused: s.state.paused, note: s.state.note, ...spec, nextActionTimes: s.info.nextActionTimes.slice(0, 1), ...(next && spec.timezone ? { nextLocal: inZone(next, spec.timezone) } : {}) });
      }
      rows.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
      if (o.json) return printJson(rows);
      if (!rows.length) return info('no sddc-ops schedules');
      const table = [['SCHEDULE', 'STATE', 'WHEN', 'TIME ZONE', 'JITTER', 'NEXT RUN (its time zone)', 'NOTE']];
      for (const r of rows) table.push([r.scheduleId, r.paused ? 'PAUSED' : 'active', r.cron ? `cron "${r.cron}"` : r.every ? `every ${r.every}` : '?', r.timezone ?? '?', r.jitter ?? '-', r.nextLocal ?? r.nextActionTimes[0]?.toISOString() ?? '-', r.note ?? '']);
      process.stdout.write(formatTable(table) + '\n');
    });
  });

  withConn(
    schedule.command('describe <site-or-id>').description('Next 5 run times and recent runs with their outcomes').option('--purpose <p>', 'purpose', 'backup'),
  ).action(async (name: string, o: Opts & { purpose: string }) => {
    await withClient(o, async (client) => {
      const id = idOf(name, o.purpose);
      const { desc } = await handleOf(client, id);
      const recent = await Promise.all(
        desc.info.recentActions.slice(-10).map(async (a) => {
          const wf = a.action.workflow;
          const status = await client.workflow.getHandle(wf.workflowId, wf.firstExecutionRunId).describe().then((d) => d.status.name, () => 'UNKNOWN');
          return { scheduledAt: a.scheduledAt, takenAt: a.takenAt, workflowId: wf.workflowId, runId: wf.firstExecutionRunId, outcome: status };
        }),
      );
      const spec = specOf((desc.memo ?? ownerOfAction(desc)) as OwnerMemo | undefined, desc.spec.timezone);
      const out = {
        scheduleId: id,
        paused: desc.state.paused,
        note: desc.state.note,
        ...spec,
        nextActionTimes: desc.info.nextActionTimes.slice(0, 5),
        ...(spec.timezone ? { nextLocal: desc.info.nextActionTimes.slice(0, 5).map((t) => inZone(t, spec.timezone!)) } : {}),
        recentActions: recent,
        numActionsTaken: desc.info.numActionsTaken,
        overlap: desc.policies.overlap,
      };
      if (o.json) return printJson(out);
      const when = `${spec.cron ? `cron "${spec.cron}"` : spec.every ? `every ${spec.every}` : '(not made by sddc-ops: see the Web UI)'} in ${spec.timezone ?? 'UTC'}${spec.jitter ? `, jitter ${spec.jitter}` : ''}`;
      const lines = [`${id}  ${desc.state.paused ? 'PAUSED' : 'active'}${desc.state.note ? `  (${desc.state.note})` : ''}`, `when    ${when}`, `overlap ${desc.policies.overlap}, ${desc.info.numActionsTaken} run(s) so far`, `next runs (${spec.timezone ?? 'UTC'}):`];
      out.nextActionTimes.forEach((t, i) => lines.push(`  ${out.nextLocal?.[i] ?? t.toISOString()}   (${t.toISOString()})`));
      lines.push('recent runs:');
      if (!recent.length) lines.push('  (none yet)');
      for (const r of recent) lines.push(`  ${r.takenAt.toISOString()}  ${r.outcome.padEnd(10)}  ${r.workflowId}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
  });

  for (const [verb, help] of [['pause', 'Pause a schedule (no runs until unpaused)'], ['unpause', 'Resume a paused schedule']] as const) {
    withConn(schedule.command(`${verb} <site-or-id>`).description(help).option('--note <text>', 'why (shown with the schedule; without it the schedule keeps its note)').option('--purpose <p>', 'purpose', 'backup')).action(
      async (name: string, o: Opts & { note?: string; purpose: string }) => {
        const note = o.note === undefined ? undefined : scheduleNote.safeParse(o.note);
        if (note && !note.success) throw new CliError(`--note: ${note.error.issues[0]!.message}`, EXIT.BAD_INPUT);
        await withClient(o, async (client) => {
          const { handle, desc } = await handleOf(client, idOf(name, o.purpose));
          // The operator's note stays unless a new one is given (the SDK would put its own words there).
          const note = o.note ?? desc.state.note ?? `${verb}d with sddc-ops`;
          await (verb === 'pause' ? handle.pause(note) : handle.unpause(note));
          if (o.json) printJson({ scheduleId: handle.scheduleId, paused: verb === 'pause', note });
          else info(`${handle.scheduleId} ${verb}d${note ? `: ${note}` : ''}`);
        });
      },
    );
  }

  withConn(schedule.command('trigger <site-or-id>').description('Run the scheduled action now').option('--purpose <p>', 'purpose', 'backup')).action(async (name: string, o: Opts & { purpose: string }) => {
    await withClient(o, async (client) => {
      const { handle } = await handleOf(client, idOf(name, o.purpose));
      await handle.trigger();
      if (o.json) printJson({ scheduleId: handle.scheduleId, triggered: true });
      else info(`triggered ${handle.scheduleId}`);
    }, queueOf);
  });

  withConn(
    schedule
      .command('backfill <site-or-id>')
      .description('Take the runs the schedule would have taken between --from and --to')
      .requiredOption('--from <time>', 'start, e.g. 2026-11-01T00:00:00Z')
      .requiredOption('--to <time>', 'end')
      .option('--purpose <p>', 'purpose', 'backup'),
  ).action(async (name: string, o: Opts & { from: string; to: string; purpose: string }) => {
    const start = parseTime(o.from, '--from');
    const end = parseTime(o.to, '--to');
    if (end <= start) throw new CliError('--to must be after --from', EXIT.BAD_INPUT);
    await withClient(o, async (client) => {
      const { handle } = await handleOf(client, idOf(name, o.purpose));
      await handle.backfill({ start, end });
      if (o.json) return printJson({ scheduleId: handle.scheduleId, backfill: { from: start.toISOString(), to: end.toISOString() } });
      info(`backfill of ${handle.scheduleId} from ${start.toISOString()} to ${end.toISOString()} requested`);
    });
  });

  withConn(schedule.command('delete <site-or-id>').description('Delete a schedule (runs already taken stay)').option('--purpose <p>', 'purpose', 'backup')).action(
    async (name: string, o: Opts & { purpose: string }) => {
      await withClient(o, async (client) => {
        const { handle } = await handleOf(client, idOf(name, o.purpose));
        await handle.delete();
        if (o.json) printJson({ scheduleId: handle.scheduleId, deleted: true });
        else info(`deleted ${handle.scheduleId}`);
      });
    },
  );

  withConn(
    schedule
      .command('apply')
      .description('Make the server\'s schedules match the config file (sites.<site>.schedules): create, update, and delete only schedules the file created')
      .option('--dry-run', 'print the diff, change nothing'),
  ).action(async (o: Opts & { dryRun?: boolean }) => {
    const { config, file } = loadConfig(o.config);
    await withClient({ ...o, config: file }, async (client) => {
      const taskQueue = o.taskQueue ?? config.temporal.taskQueue;
      const wanted = Object.entries(config.sites).flatMap(([site, sc]) =>
        siteSchedules(sc).map((s) => ({ options: scheduleOptions(config, site, s, taskQueue, 'config'), describe: describeSpec(s) })),
      );
      const changes = await planApply(client, wanted);
      const diff = changes.filter((c) => c.op !== 'unchanged');
      if (!o.dryRun) {
        for (const c of diff) {
          if (c.op === 'delete') await client.schedule.getHandle(c.scheduleId).delete();
          else await upsertSchedule(client, wanted.find((w) => w.options.scheduleId === c.scheduleId)!.options);
        }
      }
      if (o.json) return printJson({ dryRun: !!o.dryRun, changes: diff });
      if (!diff.length) return info('no changes: the server matches the config file');
      const sign = { create: '+', update: '~', delete: '-', unchanged: ' ' };
      for (const c of diff) process.stdout.write(`${sign[c.op]} ${c.scheduleId}: ${c.detail}\n`);
      if (o.dryRun) info('(dry run: nothing changed)');
    });
  });
  return schedule;
}
