import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../fixtures/stack.js';
import { startTestLab, type TestLab } from '../fixtures/lab.js';
import type { BackupSetManifest } from '../../src/domain/backup-set.js';

const SETS = 5_000;
let lab: TestLab;
let hooks: string;

/** Runs the CLI with a module-load log; stdout is read by a slow reader, a chunk at a time. */
function cliSlowReader(args: string[], o: { pauseMs: number }): Promise<{ code: number | null; stdout: string; stderr: string; modules: string[] }> {
  const log = join(hooks, `modules-${Date.now()}-${Math.random()}.log`);
  writeFileSync(log, '');
  const child = spawn(process.execPath, ['--import', join(hooks, 'register.mjs'), CLI, ...args], { env: { ...process.env, MODULE_LOG: log }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    out.push(c);
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), o.pauseMs);
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr, modules: readFileSync(log, 'utf8').split('\n').filter(Boolean) })),
  );
}

const loads = (modules: string[], pkg: string) => modules.some((m) => m.includes(`/node_modules/${pkg}/`));

beforeAll(async () => {
  lab = await startTestLab({ site: 'bulk' });
  hooks = mkdtempSync(join(tmpdir(), 'sddc-hooks-'));
  writeFileSync(join(hooks, 'register.mjs'), "import { register } from 'node:module';\nregister(new URL('./hooks.mjs', import.meta.url));\n");
  writeFileSync(
    join(hooks, 'hooks.mjs'),
    "import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  appendFileSync(process.env.MODULE_LOG, url + '\\n');\n  return next(url, context);\n}\n",
  );
  // A target with thousands of sets, written as the backups would have written them.
  const start = Date.UTC(2025, 0, 1);
  for (let i = 0; i < SETS; i++) {
    const at = new Date(start + i * 3_600_000);
    const setId = `bulk-${at.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
    const m = {
      schemaVersion: 1,
      setId,
      site: 'bulk',
      status: i === SETS - 1 ? 'running' : 'complete',
      startedAt: at.toISOString(),
      endedAt: at.toISOString(),
      verifiedAt: at.toISOString(),
      workflow: { workflowId: `coordinated-backup-bulk-${i}`, runId: `run-${i}` },
      target: { host: '127.0.0.1', port: 22, directory: '/b', hostKeyFingerprint: 'SHA256:x' },
      totals: { files: 12, bytes: 123_456_789 + i },
      nsx: { passphraseRef: 'env:NSX_PASSPHRASE', folders: [`nsx/cluster-node-backups/x/backup-${i}`], files: [] },
    } as unknown as BackupSetManifest;
    mkdirSync(join(lab.targetOnDisk, 'sets', setId), { recursive: true });
    writeFileSync(join(lab.targetOnDisk, 'sets', setId, 'backup-set.json'), JSON.stringify(m, null, 2) + '\n');
  }
});
afterAll(async () => {
  await lab?.dispose();
  if (hooks) rmSync(hooks, { recursive: true, force: true });
});

describe('the CLI starts light and never cuts its output', () => {
  it(`backup list --json of ${SETS} sets reaches a slow pipe reader whole, without loading the Temporal worker package`, async () => {
    const r = await cliSlowReader(['backup', 'list', '--site', 'bulk', '--config', lab.configPath, '--json'], { pauseMs: 15 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(4 * 65_536); // well past one pipe buffer
    const listed = JSON.parse(r.stdout) as { sets: { setId: string; status: string }[]; unreadable: unknown[] };
    expect(listed.sets).toHaveLength(SETS);
    expect(new Set(listed.sets.map((s) => s.setId)).size).toBe(SETS);
    expect(listed.unreadable).toEqual([]);
    // The running set made it ask Temporal about liveness (the client), never load the worker.
    expect(loads(r.modules, '@temporalio/client')).toBe(true);
    expect(loads(r.modules, '@temporalio/worker')).toBe(false);
  }, 120_000);

  it('-o yaml prints what --json prints, as YAML; -o json is --json; an unknown format is bad input', async () => {
    const { parse } = await import('yaml');
    const args = ['backup', 'list', '--site', 'bulk', '--config', lab.configPath];
    const [json, yaml, oJson] = await Promise.all([cliSlowReader([...args, '--json'], { pauseMs: 0 }), cliSlowReader([...args, '-o', 'yaml'], { pauseMs: 0 }), cliSlowReader([...args, '--output', 'json'], { pauseMs: 0 })]);
    expect(yaml.code, yaml.stderr).toBe(0);
    expect(yaml.stdout.startsWith('{')).toBe(false);
    expect(parse(yaml.stdout)).toEqual(JSON.parse(json.stdout));
    expect(oJson.stdout).toBe(json.stdout);
    const bad = await cliSlowReader([...args, '-o', 'xml'], { pauseMs: 0 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('-o xml: expected table, json or yaml');
  }, 120_000);

  it('--help loads neither Temporal, nor the SSH stack, nor the config schema', async () => {
    const r = await cliSlowReader(['--help'], { pauseMs: 0 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Commands:[\s\S]*backup[\s\S]*schedule[\s\S]*worker/);
    expect(r.modules.some((m) => m.endsWith('/dist/src/cli/main.js'))).toBe(true); // the log works
    for (const pkg of ['@temporalio/client', '@temporalio/worker', '@temporalio/common', 'ssh2', 'zod', 'yaml']) expect(loads(r.modules, pkg), pkg).toBe(false);
  });

  it('help for one command loads that command only, and shows its subcommands', async () => {
    const r = await cliSlowReader(['help', 'backup'], { pauseMs: 0 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/run[\s\S]*list[\s\S]*show[\s\S]*verify/);
    expect(loads(r.modules, '@temporalio/worker')).toBe(false);
    expect(r.modules.some((m) => m.includes('/dist/src/cli/schedule.js'))).toBe(false);
  });
});
