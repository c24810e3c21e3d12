import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { ensureTemporalCli } from '../../dist/src/temporal/cli-provision.js';
import { startDevServer } from '../../dist/src/temporal/dev-server.js';
import { freePort } from '../../dist/src/lab/sftp-server.js';
import { loadConfig } from '../../dist/src/config/load.js';
import { startCoordinatedBackup } from '../../dist/src/temporal/backup-runs.js';
import { backupInput } from '../../dist/src/temporal/inputs.js';
import { fmtMs } from '../lib/timing.mjs';
import { clientDataConverter, payloadCodecFor } from '../../dist/src/temporal/data-converter.js';

export const id = 'history';
export const figure = 'history of one backup whose vCenter job runs 2 h (lab, default settings)';
export const anchor = '—';
export const goal = '≤ 300 events';

const JOB_MS = 2 * 3600_000;
const SCALE = Number(process.env.BENCH_TIME_SCALE ?? 40);

/**
 * A real Temporal dev server (real time) and, in a child process whose clock runs SCALE times
 * faster, the lab and a worker: the vCenter job takes 2 h of the worker's and the lab's time (the
 * waits poll at the default 10 s, progress reaches the run at most every 5 min), in 2 h / SCALE of
 * wall time. The run is started and awaited here; its history is counted from the server.
 */
export async function run(ctx) {
  const cli = await ensureTemporalCli({ onProgress: () => undefined });
  const server = await startDevServer({ cliPath: cli.path, dataDir: join(ctx.workDir, 'history-temporal'), ip: '127.0.0.1', port: await freePort(), uiPort: await freePort(), headless: true });
  let child;
  try {
    child = spawn(process.execPath, ['--import', new URL('../lib/fast-clock.mjs', import.meta.url).pathname, new URL('../lib/history-child.mjs', import.meta.url).pathname, join(ctx.workDir, 'history-lab'), server.address, String(JOB_MS)], {
      env: { ...process.env, BENCH_TIME_SCALE: String(SCALE) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`the lab/worker process exited (${code}) before the run ended`))));
    const ready = await Promise.race([new Promise((resolve) => createInterface({ input: child.stdout }).once('line', (l) => resolve(JSON.parse(l)))), exited]);
    const { config } = loadConfig(ready.configPath);
    const connection = await Connection.connect({ address: server.address });
    try {
      const client = new Client({ connection, namespace: 'default', dataConverter: clientDataConverter(await payloadCodecFor(config.temporal.encryption)) });
      const t0 = performance.now();
      const handle = await startCoordinatedBackup(client, { input: backupInput(ready.site), taskQueue: config.temporal.taskQueue, config: config.sites[ready.site] });
      ctx.log(`  backup of ${ready.site} started; its vCenter job runs ${JOB_MS / 3600_000} h of lab time, about ${fmtMs(JOB_MS / SCALE)} of wall time`);
      const result = await Promise.race([handle.result(), exited]);
      const history = await handle.fetchHistory();
      const events = history.events.length;
      const signals = history.events.filter((e) => e.workflowExecutionSignaledEventAttributes).length;
      return {
        ours: `${events} events`,
        anchorValue: '—',
        ratio: null,
        ratioText: `${events} / 300`,
        pass: events <= 300 && result.status === 'complete',
        notes:
          `Backup set ${result.setId} ${result.status} after ${fmtMs(performance.now() - t0)} of wall time. ${events} events in its history, ${signals} of them progress signals. ` +
          `The lab and the worker ran with their clock ${SCALE}× the wall clock (bench/lib/fast-clock.mjs: Date and the global timers; Temporal's server and the worker's own timers are real), ` +
          `so the vCenter job took 2 h of the clock the activities poll and throttle progress by; config defaults (pollInterval 10s, timeout 4h).`,
      };
    } finally {
      await connection.close();
    }
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await server.stop();
  }
}
