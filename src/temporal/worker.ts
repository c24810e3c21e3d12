import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection, type WorkflowBundleOption } from '@temporalio/worker';
import * as activities from '../../activities/index.js';
import { DEFAULT_TASK_QUEUE } from './search-attributes.js';

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
}

export function createWorker(o: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: o.connection,
    namespace: o.namespace,
    taskQueue: o.taskQueue ?? DEFAULT_TASK_QUEUE,
    activities,
    ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: workflowsPath() }),
    identity: o.identity,
    shutdownGraceTime: '10s',
  });
}
