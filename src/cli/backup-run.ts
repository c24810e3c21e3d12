/** What `backup run` and `backup verify` do (loaded when they run), and the run-following `dev --demo` shares. */
import { WorkflowFailedError, WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { loadConfig, siteOf } from '../config/load.js';
import type { Config, SiteConfig } from '../config/schema.js';
import { backupInput } from '../temporal/inputs.js';
import { connectClient, recentPollers, TemporalUnreachable } from '../temporal/connection.js';
import { BackupAlreadyRunning, startCoordinatedBackup, uiLink } from '../temporal/backup-runs.js';
import { progressQuery, type BackupProgress, type CoordinatedBackupInput, type CoordinatedBackupResult } from '../../workflows/backup/coordinated-backup.js';
import { CliError, EXIT, humanBytes, info, isTty, printJson } from './output.js';
import { requireSetOnTarget, siteFlags, siteOfSet, sitesArg } from './catalog.js';
import { SddcOperation, SddcSite } from '../temporal/search-attributes.js';
import type { verifyBackupSet } from '../../workflows/backup/verify-backup-set.js';
import type { ConnectionOpts } from './common.js';
import type { EncryptionSetting } from '../temporal/data-converter.js';
import type { RunOpts, VerifyOpts } from './backup.js';
import { outcomeOf } from './wait.js';

export interface RunBackupOptions {
  site: string;
  input: CoordinatedBackupInput;
  /** The site as this CLI's config has it (timeout, summary); the run itself reads the worker's config. */
  siteConfig: SiteConfig;
  taskQueue: string;
  namespace: string;
  uiUrl?: string;
  wait: boolean;
  json: boolean;
}

const ICON: Record<string, string> = { pending: '·', running: '…', done: '✔', failed: '✘' };

function renderProgress(p: BackupProgress): string {
  return p.steps.map((s) => `  ${ICON[s.status]} ${s.title}${s.detail ? ` — ${s.detail}` : ''}`).join('\n');
}

/** Why a run failed, in the words of the step that failed. */
export function failureReason(err: unknown): string {
  let e: unknown = err instanceof WorkflowFailedError ? err.cause : err;
  while (e instanceof ActivityFailure && e.cause) e = e.cause;
  if (e instanceof ApplicationFailure) return e.message;
  return e instanceof Error ? e.message : String(err);
}

/** How a run that did not complete ended: cancelled, terminated, timed out (its execution timeout) or failed. */
export function runEnd(err: unknown): 'cancelled' | 'terminated' | 'timed-out' | 'failed' {
  const cause = err instanceof WorkflowFailedError ? err.cause : err;
  if (cause instanceof CancelledFailure) return 'cancelled';
  if (cause instanceof TerminatedFailure) return 'terminated';
  if (cause instanceof TimeoutFailure) return 'timed-out';
  return 'failed';
}

/** Starts the workflow, follows it, and returns the exit code. Shared by `backup run` and `dev --demo`. */
export async function runBackup(client: Client, o: RunBackupOptions): Promise<number> {
  let handle;
  try {
    handle = await startCoordinatedBackup(client, { input: o.input, taskQueue: o.taskQueue, config: o.siteConfig });
  } catch (err) {
    if (err instanceof BackupAlreadyRunning) {
      const link = uiLink(o.uiUrl, o.namespace, err.workflowId, err.runId);
      if (o.json) printJson({ status: 'already-running', workflowId: err.workflowId, runId: err.runId, startedAt: err.startedAt, ui: link });
      else info(`${err.message}${link ? `\n  ${link}` : ''}\nWait for it to finish (or cancel it in the Web UI) before starting another.`);
      return EXIT.RUN_FAILED;
    }
    throw err;
  }
  const runId = handle.firstExecutionRunId;
  const link = uiLink(o.uiUrl, o.namespace, handle.workflowId, runId);
  if (!o.json) info(`started backup of site ${o.site}: workflow ${handle.workflowId}, run ${runId}${link ? `\n  Web UI: ${link}` : ''}`);
  if (!o.wait) {
    if (o.json) printJson({ status: 'started', workflowId: handle.workflowId, runId, ui: link });
    return EXIT.OK;
  }

  let lastShown = '';
  const showProgress = async () => {
    try {
      const p = await handle.query(progressQuery);
      const text = renderProgress(p);
      if (text === lastShown) return;
      if (isTty() && lastShown) process.stderr.write(`\x1b[${lastShown.split('\n').length}A\x1b[J`);
      if (isTty() || !lastShown) info(text);
      else {
        // Not a terminal: print only the steps that changed, one line each.
        const before = lastShown.split('\n');
        text.split('\n').forEach((l, i) => l !== before[i] && info(l));
      }
      lastShown = text;
    } catch {
      /* the first workflow task may not have run yet */
    }
  };
  const timer = o.json ? undefined : setInterval(() => void showProgress(), 1000);
  try {
    const result: CoordinatedBackupResult = await outcomeOf(() => handle.result());
    if (timer) {
      clearInterval(timer);
      await showProgress();
    }
    if (o.json) printJson({ ...result, workflowId: handle.workflowId, runId, ui: link });
    else {
      info(`backup set ${result.setId} complete: ${result.totals.files} files, ${humanBytes(result.totals.bytes)}, verified`);
      info(`  manifest: ${result.manifestPath}`);
      for (const w of result.warnings ?? []) info(`  warning: ${w}`);
      for (const k of result.iks ?? []) info(`  IKS ${k.name}: master ${k.masterVersion} ${k.masterHealth}; etcd backed up by the provider (recorded)`);
      for (const r of result.appDataReminders ?? []) {
        if (r.how !== 'no-owners') info(`  app-data reminder for cluster ${r.clusterId} ${r.how === 'started' ? 'sent' : 'still pending'}; owners confirm with: sddc-ops appdata ack --cluster ${r.clusterId} --by NAME`);
      }
    }
    return EXIT.OK;
  } catch (err) {
    if (timer) {
      clearInterval(timer);
      await showProgress();
    }
    const reason = failureReason(err);
    const status = runEnd(err);
    if (o.json) printJson({ status, workflowId: handle.workflowId, runId, reason, ui: link });
    else if (status === 'cancelled') info(`backup of site ${o.site} CANCELLED: the set is recorded as cancelled, with what the products wrote so retention frees it${link ? `\n  details: ${link}` : ''}`);
    else info(`backup of site ${o.site} ${status.toUpperCase()}: ${reason}${link ? `\n  details: ${link}` : ''}`);
    return EXIT.RUN_FAILED;
  }
}

/** `backup run`: start a coordinated backup of one site and follow it (or of every site, --all-sites). */
export async function backupRunAction(opts: RunOpts): Promise<void> {
    siteFlags(opts);
    const { config, file } = loadConfig(opts.config);
    const sites = sitesArg(config, file, opts);
    const conn = await connectOrExplain(opts, config.temporal);
    const { client, connection, namespace } = conn;
    try {
      await requireWorker(conn, opts.taskQueue ?? config.temporal.taskQueue, { wait: opts.wait, config: file });
      if (opts.allSites) {
        process.exitCode = await runAllSites(client, sites, { config, taskQueue: opts.taskQueue ?? config.temporal.taskQueue, ifBusy: opts.ifBusy, wait: opts.wait, json: !!opts.json });
        return;
      }
      const site = sites[0]!;
      process.exitCode = await runBackup(client, {
        site,
        input: backupInput(site, opts.ifBusy),
        siteConfig: config.sites[site]!,
        taskQueue: opts.taskQueue ?? config.temporal.taskQueue,
        namespace,
        uiUrl: opts.uiUrl ?? config.temporal.uiUrl,
        wait: opts.wait,
        json: !!opts.json,
      });
    } finally {
      await connection.close();
    }
  }

/** Every site at once: started together, one line (or JSON entry) per site as each ends; exit 1 if any did not complete. */
async function runAllSites(client: Client, sites: string[], o: { config: Config; taskQueue: string; ifBusy: 'queue' | 'skip'; wait: boolean; json: boolean }): Promise<number> {
  const started = await Promise.all(
    sites.map(async (site) => {
      try {
        return { site, handle: await startCoordinatedBackup(client, { input: backupInput(site, o.ifBusy), taskQueue: o.taskQueue, config: o.config.sites[site]! }) };
      } catch (err) {
        return { site, error: err instanceof BackupAlreadyRunning ? err.message : (err as Error).message };
      }
    }),
  );
  const results = await Promise.all(
    started.map(async (s) => {
      if (!s.handle) {
        if (!o.json) info(`${s.site}: NOT STARTED — ${s.error}`);
        return { site: s.site, status: 'not-started', reason: s.error };
      }
      if (!o.wait) {
        if (!o.json) info(`${s.site}: started ${s.handle.workflowId}`);
        return { site: s.site, status: 'started', workflowId: s.handle.workflowId, runId: s.handle.firstExecutionRunId };
      }
      try {
        const r = (await outcomeOf(() => s.handle!.result())) as CoordinatedBackupResult;
        if (!o.json) info(`${s.site}: complete — set ${r.setId}, ${r.totals.files} files, ${humanBytes(r.totals.bytes)}, verified`);
        return { site: s.site, status: 'complete', setId: r.setId, workflowId: s.handle.workflowId };
      } catch (err) {
        const reason = failureReason(err);
        if (!o.json) info(`${s.site}: ${runEnd(err).toUpperCase()} — ${reason}`);
        return { site: s.site, status: runEnd(err), reason, workflowId: s.handle.workflowId };
      }
    }),
  );
  if (o.json) printJson({ sites: results });
  return results.every((r) => r.status === 'complete' || r.status === 'started') ? EXIT.OK : EXIT.RUN_FAILED;
}

/** `backup verify`: re-hash a set as a workflow and report. */
export async function backupVerifyAction(setId: string, opts: VerifyOpts): Promise<void> {
    const { config, file } = loadConfig(opts.config);
    const site = siteOfSet(config, file, setId, opts.site);
    await requireSetOnTarget(config, site, setId);
    const conn = await connectOrExplain(opts, config.temporal);
    const { client, connection, namespace } = conn;
    try {
      await requireWorker(conn, opts.taskQueue ?? config.temporal.taskQueue, { wait: opts.wait, config: file });
      const handle = await client.workflow.start<typeof verifyBackupSet>('verifyBackupSet', {
        taskQueue: opts.taskQueue ?? config.temporal.taskQueue,
        workflowId: `verify-backup-set-${setId}`,
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
        args: [{ site, setId }],
        typedSearchAttributes: [
          { key: SddcSite, value: site },
          { key: SddcOperation, value: 'verify-backup-set' },
        ],
        staticSummary: `Verify backup set ${setId} against its manifest`,
      });
      const link = uiLink(opts.uiUrl ?? config.temporal.uiUrl, namespace, handle.workflowId, handle.firstExecutionRunId);
      if (!opts.json) info(`verifying ${setId}: workflow ${handle.workflowId}${link ? `\n  Web UI: ${link}` : ''}`);
      if (!opts.wait) {
        if (opts.json) printJson({ status: 'started', workflowId: handle.workflowId, runId: handle.firstExecutionRunId, ui: link });
        return;
      }
      try {
        const r = await outcomeOf(() => handle.result());
        if (opts.json) printJson({ status: 'ok', ...r });
        else info(`backup set ${setId} verified: ${r.checked} files match the manifest`);
      } catch (err) {
        const reason = failureReason(err);
        if (opts.json) printJson({ status: 'damaged', setId, reason });
        else info(`VERIFICATION FAILED: ${reason}`);
        process.exitCode = EXIT.RUN_FAILED;
      }
    } finally {
      await connection.close();
    }
  }

/** The config file's temporal section, as connections need it. */
export type TemporalSection = { address?: string; namespace?: string; encryption?: EncryptionSetting };

export async function connectOrExplain(opts: ConnectionOpts, temporal?: TemporalSection) {
  try {
    return await connectClient({ address: opts.address, namespace: opts.namespace, profile: opts.profile, configAddress: temporal?.address, configNamespace: temporal?.namespace, encryption: temporal?.encryption });
  } catch (err) {
    if ((err as Error).name === 'EncryptionConfigError') throw err;
    // A TLS reason says what to fix; "start one" would mislead.
    if (err instanceof TemporalUnreachable && err.tlsReason) throw new CliError(err.message, EXIT.RUN_FAILED);
    const where = err instanceof TemporalUnreachable ? err.message : `cannot reach Temporal (${(err as Error).message.split('\n')[0]})`;
    throw new CliError(`${where}: start one with \`sddc-ops dev\`, or pass --address / set TEMPORAL_ADDRESS or a profile`, EXIT.RUN_FAILED);
  }
}

/**
 * Before a command starts a run: a worker must poll its task queue, or the run would wait unseen.
 * None: the command says where it looked and how to start one, and starts nothing — unless it does
 * not wait (--no-wait), where it warns and starts the run for a worker to come.
 */
export async function requireWorker(conn: { client: Client; namespace: string; address: string }, taskQueue: string, o: { wait: boolean; config?: string }): Promise<void> {
  const pollers = await recentPollers(conn.client, conn.namespace, taskQueue).catch(() => undefined);
  if (pollers === undefined || pollers.length) return; // could not tell: do not stand in the way
  const what = `no worker polls task queue "${taskQueue}" on namespace ${conn.namespace} at ${conn.address}`;
  const how = `start one: sddc-ops worker --config ${o.config ?? 'FILE'} --address ${conn.address} --namespace ${conn.namespace} --task-queue ${taskQueue} (or run everything with sddc-ops dev)`;
  if (o.wait) throw new CliError(`${what}, so the run would wait unseen; nothing was started. ${how}`, EXIT.RUN_FAILED);
  info(`warning: ${what}: the run starts, and waits until one does. ${how}`);
}
