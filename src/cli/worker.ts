import { Command } from 'commander';
import { COMMAND_SUMMARIES } from './summaries.js';
import { loadConfig } from '../config/load.js';
import { connectWorker } from '../temporal/connection.js';
import { createWorker, installRuntime } from '../temporal/worker.js';
import { DEFAULT_TASK_QUEUE } from '../temporal/search-attributes.js';
import { CliError, EXIT, info } from './output.js';
import { addConnectionOptions, type ConnectionOpts } from './common.js';
import { hostPortProblem } from '../config/formats.js';

/** Runs a worker until SIGINT/SIGTERM, then drains: running activities get the grace time to finish. */
export function workerCommand(): Command {
  const cmd = new Command('worker')
    .description(COMMAND_SUMMARIES.worker)
    .option('--config <file>', 'the config file every run reads its site from, when it starts (default: $SDDC_OPS_CONFIG, ./sddc-ops.yaml, ./config/sddc-ops.yaml); edits apply to the next run')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (the SDK\'s and sddc_*: sets, bytes verified, verification seconds, newest good set age)')
    .option('--max-concurrent-activities <n>', 'activities this worker runs at once (default 100); every backup in flight holds two while its NSX and vCenter jobs run')
    .option('--max-activities-per-second <n>', 'activities this worker starts per second at most (default: no limit), for a small machine')
    .option('--max-cached-workflows <n>', 'runs kept in memory between their tasks (default 100, about 1-2 MiB each); others are replayed from their history when they next wake')
    .addHelpText(
      'after',
      '\nConnection: flags, then the config file, then @temporalio/envconfig: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,\n' +
        'TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE and ~/.config/temporalio/temporal.toml (TLS, mTLS, API key).\n' +
        'Example (Temporal Cloud):\n  TEMPORAL_PROFILE=prod sddc-ops worker --namespace ops.a1b2c\n',
    );
  addConnectionOptions(cmd).action(async (opts: ConnectionOpts & { config?: string; metrics?: string; maxConcurrentActivities?: string; maxCachedWorkflows?: string; maxActivitiesPerSecond?: string }) => {
    if (opts.metrics && hostPortProblem(opts.metrics)) throw new CliError(`--metrics ${opts.metrics}: expected host:port, e.g. 0.0.0.0:9464`, EXIT.BAD_INPUT);
    const maxActivities = wholeNumber('--max-concurrent-activities', opts.maxConcurrentActivities, 1);
    const maxCached = wholeNumber('--max-cached-workflows', opts.maxCachedWorkflows, 2);
    const perSecond = wholeNumber('--max-activities-per-second', opts.maxActivitiesPerSecond, 1);
    installRuntime(undefined, opts.metrics);
    // Checked now, so that a worker never starts on a config no run could use; read again by every run.
    const { config: cfg, file } = loadConfig(opts.config);
    let conn;
    try {
      conn = await connectWorker({ address: opts.address, namespace: opts.namespace, profile: opts.profile, configAddress: cfg.temporal.address, configNamespace: cfg.temporal.namespace });
    } catch (err) {
      const m = (err as Error).message.split('\n')[0]!;
      throw new CliError(m.startsWith('cannot reach Temporal') ? m : `cannot reach Temporal: ${m}`, EXIT.RUN_FAILED);
    }
    const taskQueue = opts.taskQueue ?? cfg.temporal.taskQueue ?? DEFAULT_TASK_QUEUE;
    const worker = await createWorker({ connection: conn.connection, namespace: conn.namespace, taskQueue, configFile: file, encryption: cfg.temporal.encryption, maxConcurrentActivityTaskExecutions: maxActivities, maxCachedWorkflows: maxCached, maxActivitiesPerSecond: perSecond });
    const stop = (sig: string) => {
      info(`${sig}: shutting down the worker (running activities get 10 s to finish)…`);
      worker.shutdown();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    info(`worker polling task queue ${taskQueue} in namespace ${conn.namespace}; runs read their site from ${file}${opts.metrics ? `; metrics at http://${opts.metrics}/metrics` : ''}; Ctrl-C to stop`);
    await worker.run();
    await conn.connection.close();
    info('worker stopped');
  });
  return cmd;
}

/** A whole-number flag from min to 10000, or exit 2 naming it. */
function wholeNumber(flag: string, raw: string | undefined, min: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!(Number.isInteger(n) && n >= min && n <= 10_000)) throw new CliError(`${flag} ${raw}: expected a whole number from ${min} to 10000`, EXIT.BAD_INPUT);
  return n;
}
