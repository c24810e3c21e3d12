/** `backup status|wait|cancel|logs RUN`: a backup run, by workflow id (loaded when they run). */
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { decodeOptionalFailureToOptionalError, decodeOptionalSinglePayload } from '@temporalio/common/lib/internal-non-workflow/codec-helpers.js';
import type { temporal } from '@temporalio/proto';
import { loadConfig } from '../config/load.js';
import { progressQuery, type CoordinatedBackupResult } from '../../workflows/backup/coordinated-backup.js';
import { connectOrExplain, failureReason, runEnd } from './backup-run.js';
import { CliError, EXIT, info, printJson } from './output.js';
import type { RunRefOpts } from './backup.js';
import { outcomeOf } from './wait.js';

async function withRun<T>(run: string, o: RunRefOpts, fn: (h: WorkflowHandle, client: Client) => Promise<T>): Promise<T> {
  const { config } = o.config || process.env.SDDC_OPS_CONFIG ? loadConfig(o.config) : { config: undefined };
  const { client, connection } = await connectOrExplain(o, config?.temporal);
  try {
    const h = client.workflow.getHandle(run, o.runId);
    await h.describe().catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) throw new CliError(`no run ${run}${o.runId ? ` (run id ${o.runId})` : ''}: \`backup run --no-wait\` prints the id; backups of a site are coordinated-backup-<site>`, EXIT.BAD_INPUT);
      throw err;
    });
    return await fn(h, client);
  } finally {
    await connection.close();
  }
}

const ICON: Record<string, string> = { done: '✔', failed: '✘', running: '…', pending: '·' };

export async function backupStatus(run: string, o: RunRefOpts): Promise<void> {
  await withRun(run, o, async (h) => {
    const d = await h.describe();
    const progress = await h.query(progressQuery).catch(() => undefined); // an ended run may have no worker to answer
    const status = d.status.name;
    if (o.json) return printJson({ workflowId: d.workflowId, runId: d.runId, status, startTime: d.startTime, closeTime: d.closeTime, ...(progress ? { setId: progress.setId, steps: progress.steps } : {}) });
    process.stdout.write(
      `run     ${d.workflowId} / ${d.runId}\nstatus  ${status}\nstarted ${d.startTime.toISOString()}${d.closeTime ? `\nended   ${d.closeTime.toISOString()}` : ''}\n` +
        (progress ? `set     ${progress.setId}\n${progress.steps.map((x) => `  ${ICON[x.status] ?? '?'} ${x.title}${x.detail ? ` — ${x.detail}` : ''}`).join('\n')}\n` : ''),
    );
  });
}

export async function backupWait(run: string, o: RunRefOpts): Promise<void> {
  await withRun(run, o, async (h) => {
    if (!o.json) info(`waiting for ${run}…`);
    try {
      const r = (await outcomeOf(() => h.result())) as CoordinatedBackupResult;
      if (o.json) printJson(r);
      else info(`backup set ${r.setId} complete: ${r.totals.files} files, verified`);
    } catch (err) {
      const reason = failureReason(err);
      if (o.json) printJson({ status: runEnd(err), workflowId: run, reason });
      else info(`${runEnd(err).toUpperCase()}: ${reason}`);
      process.exitCode = EXIT.RUN_FAILED;
    }
  });
}

export async function backupCancel(run: string, o: RunRefOpts): Promise<void> {
  await withRun(run, o, async (h) => {
    const d = await h.describe();
    if (d.status.name !== 'RUNNING') throw new CliError(`${run} has already ended (${d.status.name}): nothing to cancel`, EXIT.BAD_INPUT);
    await h.cancel();
    if (o.json) printJson({ workflowId: run, status: 'cancel-requested' });
    else info(`cancel requested: ${run} cancels the vCenter job it started, lets NSX's end, and records the set cancelled (follow with: sddc-ops backup wait ${run})`);
  });
}

/** One line per event that says something to an operator: steps (activities) with their summaries, retries, failures, the end. */
export async function backupLogs(run: string, o: RunRefOpts): Promise<void> {
  await withRun(run, o, async (h, client) => {
    const history = await h.fetchHistory();
    // Summaries and failure messages are encrypted like every payload: read them through the client's codec.
    const converter = client.options.loadedDataConverter;
    const summaries = new Map<string, string | undefined>();
    const failures = new Map<temporal.api.failure.v1.IFailure, string>();
    for (const e of history.events ?? []) {
      if (e.userMetadata?.summary) summaries.set(String(e.eventId), (await decodeOptionalSinglePayload<string>(converter, e.userMetadata.summary)) ?? undefined);
      const f = e.activityTaskFailedEventAttributes?.failure ?? e.workflowExecutionFailedEventAttributes?.failure;
      if (f) {
        failures.set(f, failureReason(await decodeOptionalFailureToOptionalError(converter, f)));
      }
    }
    const scheduled = new Map<string, { type: string; summary?: string }>();
    const lines: { at: string; event: string; text: string }[] = [];
    for (const e of history.events ?? []) {
      const at = e.eventTime ? new Date(Number(e.eventTime.seconds ?? 0) * 1000 + Math.floor((e.eventTime.nanos ?? 0) / 1e6)).toISOString() : '';
      const id = String(e.eventId);
      const add = (event: string, t: string) => lines.push({ at, event, text: t });
      if (e.workflowExecutionStartedEventAttributes) add('started', `workflow ${e.workflowExecutionStartedEventAttributes.workflowType?.name ?? ''}`);
      else if (e.activityTaskScheduledEventAttributes) {
        const a = e.activityTaskScheduledEventAttributes;
        scheduled.set(id, { type: a.activityType?.name ?? '?', summary: summaries.get(id) });
      } else if (e.activityTaskStartedEventAttributes) {
        const a = e.activityTaskStartedEventAttributes;
        const s = scheduled.get(String(a.scheduledEventId));
        add('step', `${s?.summary ?? s?.type}${(a.attempt ?? 1) > 1 ? ` (attempt ${a.attempt})` : ''}`);
      } else if (e.activityTaskCompletedEventAttributes) {
        const s = scheduled.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId));
        add('done', s?.summary ?? s?.type ?? '');
      } else if (e.activityTaskFailedEventAttributes) {
        const a = e.activityTaskFailedEventAttributes;
        const s = scheduled.get(String(a.scheduledEventId));
        add('failed', `${s?.summary ?? s?.type}: ${a.failure ? failures.get(a.failure) : ''}`);
      } else if (e.activityTaskTimedOutEventAttributes) {
        const s = scheduled.get(String(e.activityTaskTimedOutEventAttributes.scheduledEventId));
        add('timed-out', `${s?.summary ?? s?.type} (its worker stopped answering; retried)`);
      } else if (e.workflowExecutionSignaledEventAttributes) add('signal', e.workflowExecutionSignaledEventAttributes.signalName ?? '');
      else if (e.workflowExecutionCancelRequestedEventAttributes) add('cancel', `requested${e.workflowExecutionCancelRequestedEventAttributes.identity ? ` by ${e.workflowExecutionCancelRequestedEventAttributes.identity}` : ''}`);
      else if (e.workflowExecutionCompletedEventAttributes) add('completed', 'the run completed');
      else if (e.workflowExecutionFailedEventAttributes) {
        const f = e.workflowExecutionFailedEventAttributes.failure;
        add('failed', `the run failed: ${f ? failures.get(f) : ''}`);
      }
      else if (e.workflowExecutionCanceledEventAttributes) add('cancelled', 'the run ended cancelled');
      else if (e.workflowExecutionTerminatedEventAttributes) add('terminated', `the run was terminated: ${e.workflowExecutionTerminatedEventAttributes.reason ?? ''}`);
      else if (e.workflowExecutionTimedOutEventAttributes) add('timed-out', 'the run reached its execution timeout');
    }
    if (o.json) return printJson(lines);
    process.stdout.write(lines.map((l) => `${l.at}  ${l.event.padEnd(10)} ${l.text}`).join('\n') + '\n');
  });
}
