import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { freePort } from '../../src/lab/sftp-server.js';
import { CLI } from '../fixtures/stack.js';
import { until } from '../fixtures/wait.js';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, startStack, type Stack } from '../fixtures/stack.js';
import { setFaults } from '../fixtures/lab.js';
import { chromiumDom } from '../fixtures/chromium.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('rep');
});
afterAll(async () => stack?.stop());
const conn = () => ['--config', stack.lab.configPath, '--address', stack.server.address];

/** The point marks Vega drew in one chart (a figure), as the browser parsed it. */
const pointsIn = (dom: string, chart: string) => {
  const figure = new RegExp(`<figure[^>]*data-chart="${chart}"[^>]*>([\\s\\S]*?)</figure>`).exec(dom)?.[1] ?? '';
  return (figure.match(/aria-roledescription="point"/g) ?? []).length;
};

describe('sddc-ops report', () => {
  it('charts every ended set in a self-contained HTML that headless Chromium renders, and every run writes it beside the backups', async () => {
    for (const fail of [false, true, false]) {
      if (fail) await setFaults(stack.lab.nsx.url, { failJob: { message: 'disk full' } });
      const r = await cli(['backup', 'run', '--site', 'rep', '--json', ...conn()]);
      expect(r.code, r.stderr).toBe(fail ? 1 : 0);
    }
    const besideBackups = join(stack.lab.targetOnDisk, 'report', 'index.html');
    expect(existsSync(besideBackups)).toBe(true);
    const html = join(mkdtempSync(join(tmpdir(), 'sddc-report-')), 'health.html');
    const r = await cli(['report', '--site', 'rep', '--html', html, '--json', ...conn()]);
    expect(r.code, r.stderr).toBe(0);
    const [h] = (JSON.parse(r.stdout) as { sites: { site: string; series: { status: string }[]; successRate: { days30: number; runs30: number }; problems: { status: string }[]; newestGood: { setId: string } }[] }).sites;
    expect(h!.series.map((p) => p.status)).toEqual(['complete', 'failed', 'complete']);
    expect(h!.successRate).toMatchObject({ runs30: 3, days30: 66.7 });
    expect(h!.problems.map((p) => p.status)).toEqual(['failed']);
    const text = readFileSync(html, 'utf8');
    expect(text).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/); // nothing to run, nothing to fetch
    const dom = await chromiumDom(`file://${html}`);
    expect(pointsIn(dom, 'size')).toBe(3);
    expect(pointsIn(dom, 'duration')).toBe(3);
    expect(dom).toContain(h!.newestGood.setId);
    // The copy beside the backups, written by the last run, has its three points too.
    expect(pointsIn(await chromiumDom(`file://${besideBackups}`), 'size')).toBe(3);
    const human = await cli(['report', '--site', 'rep', ...conn()]);
    expect(human.stdout).toMatch(/success rate +66\.7 % of 3 runs \(30 d\)/);
  }, 180_000);

  it('a worker started with --metrics serves Prometheus metrics: the SDK\'s and sddc_* (sets, bytes verified, verification seconds, newest good set age)', async () => {
    const port = await freePort();
    const worker = spawn(process.execPath, [CLI, 'worker', '--metrics', `127.0.0.1:${port}`, '--task-queue', 'metrics-q', ...conn()], { env: { ...process.env, TEMPORAL_ADDRESS: '' } });
    let stderr = '';
    worker.stderr.on('data', (d) => (stderr += d));
    try {
      await until('the worker to poll', async () => (stderr.includes('worker polling') ? true : undefined), 60_000);
      const r = await cli(['backup', 'run', '--site', 'rep', '--task-queue', 'metrics-q', ...conn()]);
      expect(r.code, r.stderr).toBe(0);
      const text = await until('our metrics on /metrics', async () => {
        const t = await fetch(`http://127.0.0.1:${port}/metrics`).then((x) => x.text(), () => '');
        return /sddc_newest_good_set_age_seconds/.test(t) ? t : undefined;
      }, 30_000);
      expect(text).toMatch(/^sddc_backup_sets\w*\{[^}]*site="rep"[^}]*status="complete"[^}]*\} 1$/m);
      expect(text).toMatch(/^sddc_bytes_verified\w*\{[^}]*product="vCenter"[^}]*\} [1-9]\d*$/m);
      expect(text).toMatch(/^sddc_verification_seconds\w*_count\{[^}]*product="NSX"[^}]*\} [1-9]/m);
      expect(text).toMatch(/^sddc_newest_good_set_age_seconds\{[^}]*site="rep"[^}]*\} \d/m);
      expect(text).toMatch(/^temporal_\w+/m); // and the SDK's own
    } finally {
      worker.kill('SIGTERM');
      await new Promise((done) => worker.on('exit', done));
    }
  }, 120_000);
});
