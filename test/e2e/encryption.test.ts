import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse, stringify } from 'yaml';
import { Client, Connection } from '@temporalio/client';
import { CLI, cli } from '../fixtures/stack.js';
import { until } from '../fixtures/wait.js';
import { chromiumDom } from '../fixtures/chromium.js';
import { endpointResource } from '../../src/domain/backup-set.js';

/**
 * `sddc-ops dev --demo` as an operator runs it: payloads are encrypted with the key dev keeps in its
 * data dir, the Web UI is pointed at the codec server, and the SQLite database holds none of the
 * config's host names or paths — while the CLI and the codec server read the runs in clear.
 */
describe('payload encryption end to end (dev, its codec server, the SQLite file)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'sddc-enc-'));
  let dev: ChildProcess;
  let stderr = '';
  let address = '';
  let uiUrl = '';
  let codecUrl = '';
  let labConfig = '';
  let raw: Client;
  let rawConnection: Connection;

  beforeAll(async () => {
    dev = spawn(process.execPath, [CLI, 'dev', '--demo', '--port', 'auto', '--ui-port', 'auto', '--data-dir', dataDir], { env: { ...process.env, TEMPORAL_ADDRESS: '' } });
    dev.stderr!.on('data', (d) => (stderr += d));
    await until('dev --demo to finish its backup', () => /Ctrl-C stops/.test(stderr) || dev.exitCode !== null, 240_000);
    expect(stderr).toContain('Next:');
    address = /Temporal address: (\S+)/.exec(stderr)![1]!;
    uiUrl = /Temporal Web UI: (http\S+)/.exec(stderr)![1]!;
    codecUrl = /codec server on (\S+)/.exec(stderr)![1]!;
    labConfig = /lab config: (\S+)/.exec(stderr)![1]!;
    rawConnection = await Connection.connect({ address });
    raw = new Client({ connection: rawConnection }); // no codec: what anyone with the database or the server's API sees
  }, 300_000);

  afterAll(async () => {
    await rawConnection?.close();
    if (dev && dev.exitCode === null) {
      dev.kill('SIGINT');
      await new Promise((r) => dev.once('exit', r));
    }
  });

  const demoRun = () => raw.workflow.getHandle('coordinated-backup-lab');
  const siteOf = () => (parse(readFileSync(labConfig, 'utf8')) as { sites: { lab: { backupTarget: { directory: string }; nsx: { url: string }; vcenter: { url: string } } } }).sites.lab;

  it('without the key, the run shows only sealed payloads; the CLI (with the config) reads it', async () => {
    const started = (await demoRun().fetchHistory()).events!.find((e) => e.workflowExecutionStartedEventAttributes)!.workflowExecutionStartedEventAttributes!;
    const p = started.input!.payloads![0]!;
    expect(Buffer.from(p.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(p.metadata!['encryption-key-id']!).toString()).toBe('dev');
    const status = await cli(['backup', 'status', 'coordinated-backup-lab', '--config', labConfig, '--address', address, '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).status).toBe('COMPLETED');
  });

  it('the Web UI is pointed at the codec server, which decodes for the UI origin with the token only', async () => {
    const settings = (await (await fetch(`${uiUrl}/api/v1/settings`)).json()) as { Codec?: { Endpoint?: string } };
    const endpoint = settings.Codec?.Endpoint ?? '';
    expect(endpoint.startsWith(`${codecUrl}/`)).toBe(true);
    const summary = (await demoRun().describe()).raw.executionConfig!.userMetadata!.summary!;
    const body = JSON.stringify({ payloads: [{ metadata: Object.fromEntries(Object.entries(summary.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(summary.data!).toString('base64') }] });
    const headers = { 'content-type': 'application/json', 'x-namespace': 'default', origin: new URL(uiUrl).origin };
    const ok = await fetch(`${endpoint}/decode`, { method: 'POST', headers, body });
    expect(ok.status).toBe(200);
    const decoded = (await ok.json()) as { payloads: { data: string }[] };
    expect(Buffer.from(decoded.payloads[0]!.data, 'base64').toString()).toContain(siteOf().backupTarget.directory);
    expect((await fetch(`${codecUrl}/decode`, { method: 'POST', headers, body })).status).toBe(401);
    expect((await fetch(`${endpoint}/decode`, { method: 'POST', headers: { ...headers, origin: 'http://elsewhere.example' }, body })).status).toBe(403);
  });

  it('in the Web UI (a real headless browser), the run reads in clear through the codec server', async () => {
    const { runId } = await demoRun().describe();
    const dom = await chromiumDom(`${uiUrl}/namespaces/default/workflows/coordinated-backup-lab/${runId}/history`, { virtualTimeMs: 30_000 });
    // The result, decoded in the browser: the manifest's path on the target, from the config's directory.
    expect(dom).toContain(`${siteOf().backupTarget.directory}/sets/`);
    expect(dom).not.toContain('binary/encrypted');
  }, 180_000);

  it('a failed run: its failure message is sealed too, and `backup logs` tells it in clear', async () => {
    const doc = parse(readFileSync(labConfig, 'utf8'));
    const wrong = join(dataDir, 'wrong-nsx-password');
    writeFileSync(wrong, 'NotThePassword1!\n');
    doc.sites.lab.nsx.password = `file:${wrong}`;
    doc.temporal.taskQueue = 'enc-wrong'; // a worker of its own reads this variant
    const variant = join(dataDir, 'wrong-password.yaml');
    writeFileSync(variant, stringify(doc));
    const worker = spawn(process.execPath, [CLI, 'worker', '--config', variant, '--address', address], { env: { ...process.env, TEMPORAL_ADDRESS: '' } });
    let workerErr = '';
    worker.stderr!.on('data', (d) => (workerErr += d));
    try {
      await until('the variant worker to poll', () => /worker polling/.test(workerErr) || worker.exitCode !== null);
      expect(worker.exitCode, workerErr).toBeNull();
      const run = await cli(['backup', 'run', '--site', 'lab', '--config', variant, '--address', address, '--json']);
      expect(run.code, run.stderr).toBe(1);
      const failed = (await demoRun().fetchHistory()).events!.find((e) => e.workflowExecutionFailedEventAttributes)?.workflowExecutionFailedEventAttributes?.failure;
      expect(failed?.message).toBe('Encoded failure');
      expect(JSON.stringify(failed)).not.toMatch(/answered|127\.0\.0\.1/);
      const logs = await cli(['backup', 'logs', 'coordinated-backup-lab', '--config', variant, '--address', address]);
      expect(logs.code, logs.stderr).toBe(0);
      expect(logs.stdout).toMatch(/the run failed: .*failed at step "preflight": NSX Manager answered 403 .*credentials were incorrect/);
      expect(logs.stdout).not.toContain('Encoded failure');
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
    }
  }, 180_000);

  it('after rotation the old key still reads old runs; without it, the CLI names the missing key id', async () => {
    const doc = parse(readFileSync(labConfig, 'utf8'));
    const newKey = join(dataDir, 'payload-2026-12.key');
    writeFileSync(newKey, randomBytes(32).toString('base64') + '\n');
    doc.temporal.encryption = { currentKey: '2026-12', keys: { '2026-12': `file:${newKey}`, dev: doc.temporal.encryption.keys.dev } };
    const rotated = join(dataDir, 'rotated.yaml');
    writeFileSync(rotated, stringify(doc));
    const readable = await cli(['backup', 'logs', 'coordinated-backup-lab', '--config', rotated, '--address', address]);
    expect(readable.code, readable.stderr).toBe(0);
    expect(readable.stdout).toContain('the run failed');
    delete doc.temporal.encryption.keys.dev;
    const dropped = join(dataDir, 'dropped.yaml');
    writeFileSync(dropped, stringify(doc));
    const logs = await cli(['backup', 'logs', 'coordinated-backup-lab', '--config', dropped, '--address', address]);
    expect(logs.code).toBe(2);
    expect(logs.stderr).toMatch(/key "dev".*add key "dev" back/);
  });

  it('a worker whose config says nothing about encryption refuses to start, and says what to write', async () => {
    const doc = parse(readFileSync(labConfig, 'utf8'));
    delete doc.temporal.encryption;
    const unset = join(dataDir, 'unset.yaml');
    writeFileSync(unset, stringify(doc));
    const r = await cli(['worker', '--config', unset, '--address', address]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no temporal.encryption.*encryption: off/);
  });

  it('the SQLite database holds none of the config\'s host names and paths (and the scan would see clear text)', async () => {
    // A control: a payload written without the codec is found by the same scan.
    const marker = `clear-marker-${randomBytes(6).toString('hex')}`;
    await raw.workflow.start('notRegistered', { taskQueue: 'nobody-polls', workflowId: `control-${marker}`, args: [marker] });
    dev.kill('SIGINT');
    await new Promise((r) => dev.once('exit', r));
    const dbDir = join(dataDir, 'temporal');
    const db = Buffer.concat(readdirSync(dbDir).filter((f) => f.startsWith('temporal.sqlite')).map((f) => readFileSync(join(dbDir, f))));
    expect(db.includes(marker)).toBe(true);
    const site = siteOf();
    const t = site.backupTarget as unknown as { host: string; port: number };
    // Paths, host:port of every endpoint, and the endpoint locks' names (workflow ids are never encrypted).
    for (const clear of [site.backupTarget.directory, new URL(site.nsx.url).host, new URL(site.vcenter.url).host, `${t.host}:${t.port}`, endpointResource('nsx', site.nsx.url), endpointResource('vcenter', site.vcenter.url)]) {
      expect(db.includes(clear), clear).toBe(false);
    }
  }, 60_000);
});
