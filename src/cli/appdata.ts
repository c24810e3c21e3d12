import { Command } from 'commander';
import { COMMAND_SUMMARIES } from './summaries.js';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { loadConfig, siteOf } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { acknowledgeUpdate, appDataStatusQuery, appDataWorkflowId, type AcknowledgeResult, type AppDataStatus } from '../../workflows/appdata/appdata-reminder.js';
import type { appDataRound } from '../../workflows/appdata/appdata-round.js';
import { appDataRoundInput } from '../temporal/inputs.js';
import { SddcOperation, SddcSite } from '../temporal/search-attributes.js';
import { connectOrExplain, failureReason, requireWorker } from './backup-run.js';
import { addConnectionOptions, type ConnectionOpts } from './common.js';
import { CliError, EXIT, info, printJson } from './output.js';

type Opts = ConnectionOpts & { config?: string; json?: boolean };

/** The site that links cluster C (by id or name); unknown clusters are bad input. */
export function siteOfCluster(config: Config, cluster: string): { site: string; clusterId: string } {
  for (const [site, sc] of Object.entries(config.sites)) {
    const c = sc.iksClusters.find((x) => x.id === cluster || x.name === cluster);
    if (c) return { site, clusterId: c.id };
  }
  const known = Object.values(config.sites).flatMap((s) => s.iksClusters.map((c) => c.name ?? c.id));
  throw new CliError(`unknown cluster "${cluster}": linked IKS clusters are ${known.join(', ') || '(none)'}`, EXIT.BAD_INPUT);
}

/** The config, then Temporal; a site named by --site must be in the config before anything is asked of the server. */
async function connect(o: Opts & { site?: string }) {
  const { config, file } = loadConfig(o.config);
  if (o.site !== undefined) siteOf(config, file, o.site);
  const c = await connectOrExplain(o, config.temporal);
  return { ...c, config, file };
}

export function appDataCommand(): Command {
  const appdata = new Command('appdata').description(COMMAND_SUMMARIES.appdata)
  const withConn = (c: Command) => addConnectionOptions(c.option('--config <file>', 'config file').option('--json', 'machine-readable output'));

  withConn(
    appdata
      .command('ack')
      .description('Confirm, as an app owner, that the application data of a cluster is backed up')
      .requiredOption('--cluster <id-or-name>', 'IKS cluster id or name, as in the config')
      .requiredOption('--by <name>', 'who confirms')
      .option('--evidence <text>', 'where the backup is, e.g. "Velero schedule shop-daily to COS bucket x"'),
  ).action(async (o: Opts & { cluster: string; by: string; evidence?: string }) => {
    const { client, connection, config } = await connect(o);
    try {
      const { site, clusterId } = siteOfCluster(config, o.cluster);
      const handle = client.workflow.getHandle(appDataWorkflowId(site, clusterId));
      let r: AcknowledgeResult;
      try {
        r = await handle.executeUpdate(acknowledgeUpdate, { args: [{ clusterId: o.cluster, by: o.by, evidence: o.evidence }] });
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) throw new CliError(`acknowledgement refused: ${failureReason(err.cause)}`, EXIT.BAD_INPUT);
        const desc = await handle.describe().catch((e: unknown) => {
          if (e instanceof WorkflowNotFoundError) throw new CliError(`no app-data reminder has run for cluster ${o.cluster}`, EXIT.RUN_FAILED);
          throw e;
        });
        // The reminder already finished: its result is the acknowledgement on record.
        if (desc.status.name !== 'COMPLETED') throw err;
        r = { ...(await handle.result()), alreadyAcknowledged: true };
      }
      if (o.json) return printJson(r);
      info(
        r.alreadyAcknowledged
          ? `cluster ${clusterId} was already acknowledged by ${r.acknowledgedBy} at ${r.at}`
          : `recorded: ${r.acknowledgedBy} confirmed the application-data backups of cluster ${clusterId}`,
      );
    } finally {
      await connection.close();
    }
  });

  withConn(appdata.command('status').description('Which clusters still wait for their app owners').option('--site <name>', 'only this site')).action(
    async (o: Opts & { site?: string }) => {
      const { client, connection } = await connect(o);
      try {
        const rows = await pending(client, o.site);
        if (o.json) return printJson(rows);
        if (!rows.length) return info('no app-data reminders pending');
        for (const r of rows) {
          process.stdout.write(
            `${r.site}/${r.clusterName ?? r.clusterId}  pending since ${r.pendingSince}  reminders ${r.remindersSent}${r.escalated ? '  ESCALATED' : ''}  owners: ${r.owners.join(', ')}\n`,
          );
          for (const w of (r.warnings ?? []).slice(-3)) info(`  warning: ${w}`);
        }
      } finally {
        await connection.close();
      }
    },
  );

  withConn(appdata.command('remind').description('Start the app-data reminders of a site now (skips clusters already pending)').requiredOption('--site <name>', 'site')).action(
    async (o: Opts & { site: string }) => {
      const conn = await connect(o);
      const { client, connection, config } = conn;
      try {
        await requireWorker(conn, o.taskQueue ?? config.temporal.taskQueue, { wait: true, config: conn.file });
        const r = await client.workflow.execute<typeof appDataRound>('appDataRound', {
          taskQueue: o.taskQueue ?? config.temporal.taskQueue,
          workflowId: `appdata-round-${o.site}-${Date.now()}`,
          args: [appDataRoundInput(o.site)],
          typedSearchAttributes: [
            { key: SddcSite, value: o.site },
            { key: SddcOperation, value: 'appdata-round' },
          ],
        });
        if (o.json) return printJson(r);
        for (const x of r) info(`${x.clusterId}: ${x.how}`);
      } finally {
        await connection.close();
      }
    },
  );
  return appdata;
}

async function pending(client: Client, site?: string): Promise<AppDataStatus[]> {
  const query = `SddcOperation = "appdata-reminder" AND ExecutionStatus = "Running"${site ? ` AND SddcSite = "${site}"` : ''}`;
  const out: AppDataStatus[] = [];
  for await (const w of client.workflow.list({ query })) {
    out.push(await client.workflow.getHandle(w.workflowId, w.runId).query(appDataStatusQuery));
  }
  return out.sort((a, b) => a.pendingSince.localeCompare(b.pendingSince));
}
