import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { startDevServer, PortInUseError } from '../../src/temporal/dev-server.js';
import { createWorker, installRuntime } from '../../src/temporal/worker.js';
import { freePort } from '../../src/lab/sftp-server.js';
import { startTestLab, setFaults, type TestLab } from '../fixtures/lab.js';
import { workflowBundle } from '../fixtures/temporal.js';
import { cli, CLI } from '../fixtures/stack.js';
import { startCoordinatedBackup } from '../../src/temporal/backup-runs.js';
import { manifestsOnDisk, sha256OnDisk } from '../fixtures/manifest.js';
import { until } from '../fixtures/wait.js';
import { testDataConverter, testEncryption } from '../fixtures/codec.js';

let server: Awaited<ReturnType<typeof startDevServer>>;
let lab: TestLab;
let worker: Worker;
let running: Promise<void>;
let native: NativeConnection;
const dataDir = mkdtempSync(join(tmpdir(), 'sddc-dev-'));

beforeAll(async () => {
  installRuntime();
  const [port, uiPort] = [await freePort(), await freePort()];
  // Keep whichever started, so afterAll stops it even when the other failed.
  const [s, l] = await Promise.allSettled([startDevServer({ cliPath: inject('temporalCli'), dataDir, port, uiPort }), startTestLab({ site: 'e2e' })]);
  if (s.status === 'fulfilled') server = s.value;
  if (l.status === 'fulfilled') lab = l.value;
  for (const r of [s, l]) if (r.status === 'rejected') throw r.reason;
  native = await NativeConnection.connect({ address: server.address });
  worker = await createWorker({ connection: native, namespace: 'default', workflowBundle: await workflowBundle(), configFile: lab.configPath, encryption: testEncryption() });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await native?.close();
  await server?.stop();
  await lab?.dispose();
});

describe('sddc-ops backup run, end to end (dev server with SQLite, lab, real sshd)', () => {
  it('runs a coordinated backup, prints JSON and leaves a manifest whose files hash on disk', async () => {
    const r = await cli(['backup', 'run', '--site', 'e2e', '--config', lab.configPath, '--address', server.address, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ status: 'complete', site: 'e2e', workflowId: 'coordinated-backup-e2e' });
    expect(out.ui).toBeUndefined();
    const manifest = manifestsOnDisk(lab.targetOnDisk).find((m) => m.setId === out.setId)!;
    expect(manifest.status).toBe('complete');
    for (const f of [...manifest.nsx!.files, ...manifest.vcenter!.files]) expect(sha256OnDisk(join(lab.targetOnDisk, f.path))).toBe(f.sha256);

    // The server lists the run by its search attributes.
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, dataConverter: await testDataConverter() });
    const found = [];
    for await (const w of client.workflow.list({ query: `SddcSite = "e2e" AND SddcOperation = "coordinated-backup" AND BackupSetId = "${out.setId}"` })) found.push(w);
    expect(found.map((w) => w.runId)).toEqual([out.runId]);
    await connection.close();
  });

  it('prints the Web UI link and step progress for humans; a second run while one is going exits 1 naming it', async () => {
    await setFaults(lab.nsx.url, { jobDurationMs: 4000 });
    const first = await cli(['backup', 'run', '--site', 'e2e', '--config', lab.configPath, '--address', server.address, '--ui-url', server.uiUrl!, '--no-wait']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(new RegExp(`${server.uiUrl}/namespaces/default/workflows/coordinated-backup-e2e/`));
    const second = await cli(['backup', 'run', '--site', 'e2e', '--config', lab.configPath, '--address', server.address]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already running: workflow coordinated-backup-e2e, run /);
    await setFaults(lab.nsx.url, { jobDurationMs: 400 });
  });

  it('exits 1 with the product\'s reason when the run fails', async () => {
    // Wait for the previous test's run to finish.
    const connection = await Connection.connect({ address: server.address });
    await new Client({ connection, dataConverter: await testDataConverter() }).workflow.getHandle('coordinated-backup-e2e').result().catch(() => undefined);
    await connection.close();
    await setFaults(lab.vcenter.url, { failJob: { message: 'Location is not accessible' } });
    const r = await cli(['backup', 'run', '--site', 'e2e', '--config', lab.configPath, '--address', server.address]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/FAILED: .*Location is not accessible/);
    expect(r.stderr).toMatch(/✘ Wait for the vCenter backup/);
  });

  it('exits 1 with advice when Temporal is unreachable, naming the address it tried', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const r = await cli(['backup', 'run', '--site', 'e2e', '--config', lab.configPath, '--address', address]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach Temporal .*sddc-ops dev/);
    expect(r.stderr).toContain(`at ${address} (namespace default)`);
  });

  it('with no worker on the task queue, says where it looked and how to start one instead of hanging; --no-wait warns and starts', async () => {
    const args = ['--site', 'e2e', '--config', lab.configPath, '--address', server.address, '--task-queue', 'nobody-polls-this'];
    const r = await cli(['backup', 'run', ...args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no worker polls task queue "nobody-polls-this" on namespace default at ${server.address}`);
    expect(r.stderr).toContain('nothing was started');
    expect(r.stderr).toContain('sddc-ops worker --config');
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, dataConverter: await testDataConverter() });
    try {
      const latest = await client.workflow.getHandle('coordinated-backup-e2e').describe();
      expect(latest.taskQueue, 'no run was started on the unpolled queue').not.toBe('nobody-polls-this');
      for (const cmd of [['restore', 'drill'], ['restore', 'run', '--yes']]) {
        const x = await cli([...cmd, ...args]);
        expect(x.code, `${cmd.join(' ')}: ${x.stderr}`).toBe(1);
        expect(x.stderr).toContain('no worker polls task queue "nobody-polls-this"');
      }
      const started = await cli(['backup', 'run', ...args, '--no-wait', '--json']);
      expect(started.code, started.stderr).toBe(0);
      expect(started.stderr).toContain('warning: no worker polls task queue "nobody-polls-this"');
      const { workflowId, runId } = JSON.parse(started.stdout) as { workflowId: string; runId: string };
      await client.workflow.getHandle(workflowId, runId).terminate('test: nobody polls its queue');
    } finally {
      await connection.close();
    }
  });

  it('sddc-ops worker serves a task queue and drains on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, 'worker', '--config', lab.configPath, '--address', server.address, '--task-queue', 'cli-worker-q'], { env: { ...process.env, TEMPORAL_ADDRESS: '' } });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const until = Date.now() + 60_000;
    while (!/polling task queue cli-worker-q/.test(stderr) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(stderr).toMatch(/polling task queue cli-worker-q in namespace default/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/SIGTERM: shutting down[\s\S]*worker stopped/);
  });

  it('a worker killed (-9) inside a start call costs seconds: another worker finishes the run, both products started together', async () => {
    const q = 'kill-q';
    const startWorker = async () => {
      const child = spawn(process.execPath, [CLI, 'worker', '--config', lab.configPath, '--address', server.address, '--task-queue', q], { env: { ...process.env, TEMPORAL_ADDRESS: '' } });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      await until('the worker to poll', () => /polling task queue kill-q/.test(stderr) || undefined);
      return child;
    };
    const first = await startWorker();
    await setFaults(lab.vcenter.url, { startDelayMs: 4000 });
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, dataConverter: await testDataConverter() });
    try {
      const handle = await startCoordinatedBackup(client, { input: { site: 'e2e' }, taskQueue: q, config: lab.config });
      const startedEvent = await until('the vCenter start call to run', async () =>
        (await handle.fetchHistory()).events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'startVcenterBackup'),
      );
      await new Promise((r) => setTimeout(r, 1500)); // inside the slow start call
      first.kill('SIGKILL');
      const killedAt = Date.now();
      await setFaults(lab.vcenter.url, { startDelayMs: 0 });
      const second = await startWorker();
      try {
        const result = await handle.result();
        expect(result.status).toBe('complete');
        const events = (await handle.fetchHistory()).events!;
        const done = events.find((e) => e.activityTaskCompletedEventAttributes && events.find((s) => s.eventId?.toString() === e.activityTaskCompletedEventAttributes!.scheduledEventId?.toString())?.activityTaskScheduledEventAttributes?.activityType?.name === 'startVcenterBackup')!;
        const doneAt = Number(done.eventTime!.seconds) * 1000;
        expect(doneAt - killedAt, 'the retry came after the start call\'s short timeout, not minutes later').toBeLessThan(30_000);
        expect(Number(startedEvent.eventTime!.seconds) * 1000).toBeLessThan(killedAt);
        const m = manifestsOnDisk(lab.targetOnDisk).find((x) => x.setId === result.setId)!;
        expect(Math.abs(Date.parse(m.nsx!.startTime!) - Date.parse(m.vcenter!.startTime!)), 'NSX and vCenter started within seconds of each other').toBeLessThan(10_000);
      } finally {
        second.kill('SIGTERM');
      }
    } finally {
      first.kill('SIGKILL');
      await setFaults(lab.vcenter.url, { startDelayMs: 0 });
      await connection.close();
    }
  }, 180_000);

  it('a busy port is a clear error, not a hang', async () => {
    const busy = Number(server.address.split(':')[1]);
    await expect(startDevServer({ cliPath: inject('temporalCli'), dataDir: join(dataDir, 'other'), port: busy, headless: true })).rejects.toThrow(PortInUseError);
    await expect(startDevServer({ cliPath: inject('temporalCli'), dataDir: join(dataDir, 'other'), port: busy, headless: true })).rejects.toThrow(/--port/);
  });

  it('runs survive a restart of the dev server (SQLite persistence)', async () => {
    const port = Number(server.address.split(':')[1]);
    worker.shutdown();
    await running;
    await server.stop();
    server = await startDevServer({ cliPath: inject('temporalCli'), dataDir, port, headless: true });
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, dataConverter: await testDataConverter() });
    const runs = [];
    for await (const w of client.workflow.list({ query: 'SddcSite = "e2e"' })) runs.push(w.status.name);
    expect(runs.filter((s) => s === 'COMPLETED').length).toBeGreaterThanOrEqual(2);
    expect(runs).toContain('FAILED');
    await connection.close();
    worker = await createWorker({ connection: native, namespace: 'default', workflowBundle: await workflowBundle(), configFile: lab.configPath, encryption: testEncryption() });
    running = worker.run();
  });

  it('a waiting backup run rides out a restart of the Temporal server and exits with the run\'s real outcome', async () => {
    await setFaults(lab.vcenter.url, { jobDurationMs: 8000 });
    try {
      const waiting = cli(['backup', 'run', '--site', 'e2e', '--config', lab.configPath, '--address', server.address, '--json']);
      const port = Number(server.address.split(':')[1]);
      const connection = await Connection.connect({ address: server.address });
      await until('the run to be waiting on the products', async () => {
        for await (const w of new Client({ connection, dataConverter: await testDataConverter() }).workflow.list({ query: 'SddcSite = "e2e" AND ExecutionStatus = "Running"' })) return w;
        return undefined;
      });
      await connection.close();
      worker.shutdown();
      await running;
      await server.stop();
      // Longer than the client's own gRPC retries (about 50 s): the old CLI gave up here and exited 1.
      await new Promise((r) => setTimeout(r, 65_000));
      server = await startDevServer({ cliPath: inject('temporalCli'), dataDir, port, headless: true });
      worker = await createWorker({ connection: native, namespace: 'default', workflowBundle: await workflowBundle(), configFile: lab.configPath, encryption: testEncryption() });
      running = worker.run();
      const r = await waiting;
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ status: 'complete', site: 'e2e' });
      expect(r.stderr).toMatch(/lost Temporal .* still waiting for its outcome/);
      expect(r.stderr).toMatch(/reached Temporal again/);
    } finally {
      await setFaults(lab.vcenter.url, { jobDurationMs: 600 });
    }
  }, 300_000);
});
