import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker, type LogLevel, type NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import * as activities from '../../activities/index.js';
import { DEFAULT_TASK_QUEUE } from './search-attributes.js';
import { setWorkerConfigFile } from './worker-config.js';
import { EncryptionConfigError, payloadCodecFor, workerDataConverter, type EncryptionSetting } from './data-converter.js';
import { prebuiltBundle } from './workflow-bundle.js';

/** workflows/index.js next to the compiled code, or index.ts when running from source (tests). */
export function workflowsPath(): string {
  for (const name of ['index.js', 'index.ts']) {
    const p = fileURLToPath(new URL(`../../workflows/${name}`, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('workflows/index is missing next to the sddc-ops installation');
}

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue?: string;
  workflowBundle?: WorkflowBundleOption;
  identity?: string;
  /** The config file every run reads its site from (default: the usual search). */
  configFile?: string;
  /** temporal.encryption: required ('off' to go without), since a worker writes results and failures. */
  encryption: EncryptionSetting | undefined;
  /** Activities this worker runs at once (default 100). Each backup in flight holds two for as long as its product jobs run. */
  maxConcurrentActivityTaskExecutions?: number;
  /**
   * Runs kept in memory between their tasks (default 100). The SDK's default grows with the heap
   * (thousands on a large machine, ~1.7 MiB each); a run not cached is replayed from its history
   * at its next task, which for our histories (tens to a few hundred events) costs milliseconds.
   */
  maxCachedWorkflows?: number;
  /** Activities this worker starts per second at most (default: no limit): a small machine's, or a test's, cap. */
  maxActivitiesPerSecond?: number;
}

export const DEFAULT_MAX_CACHED_WORKFLOWS = 100;

export async function createWorker(o: WorkerOptions): Promise<Worker> {
  if (o.encryption === undefined) {
    throw new EncryptionConfigError(
      `${o.configFile ?? 'the config'} has no temporal.encryption: a worker encrypts every result and failure it sends to Temporal. ` +
        'Add temporal.encryption.keys and currentKey (a key: openssl rand -base64 32 > FILE), or write `encryption: off` to run without (docs/security.md)',
    );
  }
  setWorkerConfigFile(o.configFile);
  const codec = await payloadCodecFor(o.encryption);
  // The prebuilt bundle carries the failure converter encryption needs; without encryption, bundle here.
  const prebuilt = codec && !o.workflowBundle ? prebuiltBundle() : undefined;
  return Worker.create({
    dataConverter: workerDataConverter(codec),
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue ?? DEFAULT_TASK_QUEUE,
    activities,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : prebuilt ? { workflowBundle: { codePath: prebuilt } } : { workflowsPath: workflowsPath() }),
    ...(o.identity ? { identity: o.identity } : {}),
    shutdownGraceTime: '10s',
    ...(o.maxConcurrentActivityTaskExecutions ? { maxConcurrentActivityTaskExecutions: o.maxConcurrentActivityTaskExecutions } : {}),
    maxCachedWorkflows: o.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
    ...(o.maxActivitiesPerSecond ? { maxActivitiesPerSecond: o.maxActivitiesPerSecond } : {}),
    // The SDK caps workflow tasks in flight at the cache size; keep its default (40) below it.
    maxConcurrentWorkflowTaskExecutions: Math.min(40, Math.max(2, o.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS)),
  });
}

/** SDK logs at WARN and above for CLI use (the bundler is chatty at INFO). Call before any connection. */
/**
 * The SDK runtime, once per process. With `metricsBind` (host:port) it serves Prometheus metrics at
 * /metrics: the SDK's own (workers, task queues, activities) and ours, prefixed sddc_ (see src/metrics.ts).
 */
export function installRuntime(level: LogLevel = (process.env.SDDC_OPS_LOG_LEVEL as LogLevel) ?? 'WARN', metricsBind?: string): void {
  try {
    Runtime.install({ logger: new DefaultLogger(level), ...(metricsBind ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsBind } } } } : {}) });
  } catch {
    /* already installed */
  }
}
