/** What the restore commands do (loaded when they run). */
import { loadConfig, siteOf } from '../config/load.js';
import { readCatalog } from '../catalog/catalog.js';
import { SftpStore } from '../catalog/store.js';
import { withSftp } from '../providers/sftp/client.js';
import { requireSetOnTarget, setIdArg, targetEndpoint } from './catalog.js';
import { pickRestoreSet, RestorePlanError, restoreRunbook, runbookMarkdown } from '../restore/runbook.js';
import { CliError, EXIT, info, printJson } from './output.js';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowNotFoundError } from '@temporalio/client';
import { SddcOperation, SddcSite } from '../temporal/search-attributes.js';
import { restoreContinueUpdate, restoreProgressQuery, type RestoreSiteInput, type RestoreSiteResult } from '../../workflows/restore/restore-site.js';
import { connectOrExplain, failureReason, requireWorker, runEnd } from './backup-run.js';
import type { ConnectionOpts } from './common.js';
import type { RestoreDrillOpts, RestoreRunOpts } from './restore.js';
import type { RestoreDrillInput, RestoreDrillResult } from '../../workflows/restore/restore-drill.js';
import { drillProgressQuery } from '../../workflows/restore/restore-drill.js';
import type { SandboxRecord } from '../../activities/restore/drill.js';
import { drillWorkflowId } from '../temporal/backup-runs.js';
import { outcomeOf } from './wait.js';

export async function restorePlan(o: { site: string; set?: string; force?: boolean; config?: string; json?: boolean }): Promise<void> {
  const { config, file } = loadConfig(o.config);
  const site = siteOf(config, file, o.site);
  if (o.set) setIdArg(o.set);
  const target = site.backupTarget;
  const catalog = await withSftp(await targetEndpoint(target), (s) => readCatalog(new SftpStore(s, target.directory)));
  for (const u of catalog.unreadable) info(`warning: ${u.setId}: unreadable manifest (${u.reason})`);
  let picked;
  try {
    picked = pickRestoreSet(catalog.sets, o.site, { setId: o.set, force: o.force, nowMs: Date.now() });
  } catch (err) {
    if (err instanceof RestorePlanError) throw new CliError(err.message, o.set ? EXIT.BAD_INPUT : EXIT.RUN_FAILED);
    throw err;
  }
  const runbook = restoreRunbook(picked.manifest, site, picked);
  if (o.json) printJson(runbook);
  else process.stdout.write(runbookMarkdown(runbook));
}

export async function restoreRun(o: RestoreRunOpts): Promise<void> {
  const { config, file } = loadConfig(o.config);
  siteOf(config, file, o.site);
  if (o.set) {
    setIdArg(o.set);
    await requireSetOnTarget(config, o.site, o.set);
  }
  const conn = await connectOrExplain(o, config.temporal);
  const { client, connection } = conn;
  try {
    await requireWorker(conn, o.taskQueue ?? config.temporal.taskQueue, { wait: o.wait, config: file });
    const input: RestoreSiteInput = { site: o.site, ...(o.set ? { setId: o.set } : {}), ...(o.force ? { force: true } : {}), ...(o.yes ? { yes: true } : {}) };
    let handle;
    try {
      handle = await client.workflow.start('restoreSite', {
        taskQueue: o.taskQueue ?? config.temporal.taskQueue,
        workflowId: `restore-site-${o.site}`,
        args: [input],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        typedSearchAttributes: [
          { key: SddcSite, value: o.site },
          { key: SddcOperation, value: 'restore-site' },
        ],
        staticSummary: `Restore site ${o.site}${o.set ? ` from ${o.set}` : ''}`,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CliError(`restore-site-${o.site} is already running`, EXIT.RUN_FAILED);
      throw err;
    }
    await follow<RestoreSiteResult>(handle, o, async () => {
      const p = await handle.query(restoreProgressQuery);
      const w = p.waitingFor;
      return w?.kind === 'go'
        ? `waiting for a go-ahead: sddc-ops restore continue ${handle.workflowId} --by NAME  (starts ${w.stage})`
        : w?.kind === 'nsx-answer'
          ? `NSX waits for the operator:\n${w.instructions.map((i) => `  ${i.id}: ${i.name}`).join('\n')}\nthen: sddc-ops restore continue ${handle.workflowId} --by NAME ${w.instructions.map((i) => `--answer ${i.id}`).join(' ')}`
          : `${p.state}${p.setId ? ` (set ${p.setId})` : ''}`;
    }, (r) => `restored site ${o.site} from ${r.setId}: vCenter ${r.vcenterVersion}, NSX ${r.nsxVersion}`);
  } finally {
    await connection.close();
  }
}

/** `--answer ID` or `--answer ID={"field":…}`. */
function parseAnswer(v: string): { id: string; [k: string]: unknown } {
  const [id, json] = [v.split('=')[0]!, v.includes('=') ? v.slice(v.indexOf('=') + 1) : undefined];
  if (!/^[A-Za-z0-9_.-]+$/.test(id)) throw new CliError(`--answer ${v}: expected an instruction id, optionally =JSON`, EXIT.BAD_INPUT);
  if (json === undefined) return { id };
  try {
    return { ...(JSON.parse(json) as object), id };
  } catch {
    throw new CliError(`--answer ${v}: the part after = is not JSON`, EXIT.BAD_INPUT);
  }
}

export async function restoreContinue(run: string, o: ConnectionOpts & { by: string; answer?: string[]; config?: string; json?: boolean }): Promise<void> {
  const answers = o.answer?.map(parseAnswer);
  const { config } = loadConfig(o.config);
  const { client, connection } = await connectOrExplain(o, config.temporal);
  try {
    const r = await client.workflow
      .getHandle(run)
      .executeUpdate(restoreContinueUpdate, { args: [{ by: o.by, ...(answers ? { answers } : {}) }] })
      .catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) throw new CliError(`no run ${run}`, EXIT.BAD_INPUT);
        const why = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
        throw new CliError(`refused: ${why}`, EXIT.BAD_INPUT);
      });
    if (o.json) printJson({ workflowId: run, ...r });
    else info(`${run}: ${r.accepted} (by ${o.by})`);
  } finally {
    await connection.close();
  }
}

export async function restoreDrillRun(o: RestoreDrillOpts): Promise<void> {
  const { config, file } = loadConfig(o.config);
  const site = siteOf(config, file, o.site);
  if (!site.drill) throw new CliError(`site ${o.site} has no drill.sandbox in ${file}: say where drills restore to (a vCenter appliance in restore mode and an NSX Manager, on an isolated network)`, EXIT.BAD_INPUT);
  if (o.set) {
    setIdArg(o.set);
    await requireSetOnTarget(config, o.site, o.set);
  }
  const conn = await connectOrExplain(o, config.temporal);
  const { client, connection } = conn;
  try {
    await requireWorker(conn, o.taskQueue ?? config.temporal.taskQueue, { wait: o.wait, config: file });
    const input: RestoreDrillInput = { site: o.site, ...(o.set ? { setId: o.set } : {}), ...(o.sandboxRedeployed ? { sandboxRedeployed: true } : {}) };
    const handle = await client.workflow.start('restoreDrill', {
      taskQueue: o.taskQueue ?? config.temporal.taskQueue,
      workflowId: drillWorkflowId(o.site, new Date()),
      args: [input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      typedSearchAttributes: [
        { key: SddcSite, value: o.site },
        { key: SddcOperation, value: 'restore-drill' },
      ],
      staticSummary: `Restore drill of site ${o.site}${o.set ? ` (${o.set})` : ''}`,
    });
    await follow<RestoreDrillResult>(handle, o, async () => {
      const p = await handle.query(drillProgressQuery);
      return `${p.state}${p.setId ? ` (set ${p.setId})` : ''}`;
    }, (r) => `PASSED: set ${r.setId} restored into the sandbox as captured (NSX: ${r.compared.nsx}; vCenter: ${r.compared.vcenter}); marked restore-tested`);
  } finally {
    await connection.close();
  }
}

export async function restoreSandbox(o: { site: string; config?: string; json?: boolean }): Promise<void> {
  const { config, file } = loadConfig(o.config);
  const site = siteOf(config, file, o.site);
  const target = site.backupTarget;
  const text = await withSftp(await targetEndpoint(target), (s) => new SftpStore(s, target.directory).readTextIfPresent('drills/sandbox.json'));
  const record = text ? (JSON.parse(text) as SandboxRecord) : undefined;
  if (o.json) return printJson(record ?? { state: 'unused' });
  if (!record) return void process.stdout.write('no drill has used the sandbox yet\n');
  process.stdout.write(
    `sandbox: ${record.state}${record.setId ? ` (set ${record.setId})` : ''}, drill ${record.drillRun} at ${record.at}\n` +
      (record.reason ? `reason: ${record.reason}\n` : '') +
      (record.state !== 'dirty'
        ? ''
        : site.drill?.sandbox.redeploy
          ? 'the next drill redeploys the sandbox appliances through drill.sandbox.redeploy\n'
          : `redeploy the sandbox appliances, then: sddc-ops restore drill --site ${o.site} --sandbox-redeployed\n`),
  );
}

/**
 * After a start: returns at once with --no-wait; else prints what the run says it is doing when it
 * changes (progress on stderr), then its result or why it ended (exit 1).
 */
async function follow<R extends object>(handle: { workflowId: string; result: () => Promise<unknown> }, o: { wait: boolean; json?: boolean }, progress: () => Promise<string>, done: (r: R) => string): Promise<void> {
  if (!o.json) info(`started ${handle.workflowId}`);
  if (!o.wait) {
    if (o.json) printJson({ status: 'started', workflowId: handle.workflowId });
    return;
  }
  let told = '';
  const timer = setInterval(() => {
    void progress().then((say) => {
      if (say !== told && !o.json) info(say);
      told = say;
    }, () => undefined);
  }, 1000);
  try {
    const r = (await outcomeOf(() => handle.result())) as R;
    if (o.json) printJson({ ...r, workflowId: handle.workflowId });
    else info(done(r));
  } catch (err) {
    const reason = failureReason(err);
    if (o.json) printJson({ status: runEnd(err), workflowId: handle.workflowId, reason });
    else info(`${runEnd(err).toUpperCase()}: ${reason}`);
    process.exitCode = EXIT.RUN_FAILED;
  } finally {
    clearInterval(timer);
  }
}
