import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cli, startStack, type Stack } from '../fixtures/stack.js';
import { setFaults } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('runs', { sharedNsxSites: ['runs2'] });
});
afterAll(async () => stack?.stop());
const conn = () => ['--config', stack.lab.configPath, '--address', stack.server.address];

describe('backup status | wait | cancel | logs RUN, and velero-style get / describe', () => {
  it('follows a run started with --no-wait: status, wait, logs; get and describe are list and show', async () => {
    const started = await cli(['backup', 'run', '--site', 'runs', '--no-wait', '--json', ...conn()]);
    expect(started.code, started.stderr).toBe(0);
    const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };
    const status = JSON.parse((await cli(['backup', 'status', workflowId, '--json', ...conn()])).stdout) as { status: string; steps: { name: string }[] };
    expect(['RUNNING', 'COMPLETED']).toContain(status.status);
    expect(status.steps.map((s) => s.name)).toContain('capture');
    const waited = await cli(['backup', 'wait', workflowId, ...conn()]);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stderr).toMatch(/backup set runs-\d{8}T\d{6}Z complete/);
    const human = await cli(['backup', 'status', workflowId, ...conn()]);
    expect(human.stdout).toMatch(/^status {2}COMPLETED$/m);
    expect(human.stdout).toMatch(/✔ Write backup-set.json/);
    const yaml = parse((await cli(['backup', 'status', workflowId, '-o', 'yaml', ...conn()])).stdout) as { status: string };
    expect(yaml.status).toBe('COMPLETED');
    const logs = await cli(['backup', 'logs', workflowId, ...conn()]);
    expect(logs.code).toBe(0);
    const lines = logs.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/started +workflow coordinatedBackup/);
    expect(lines.some((l) => /step +Start NSX backup_to_remote/.test(l))).toBe(true);
    expect(lines.at(-1)).toMatch(/completed +the run completed/);
    expect((await cli(['backup', 'cancel', workflowId, ...conn()])).code, 'an ended run: nothing to cancel').toBe(2);
    const list = await cli(['backup', 'list', '--site', 'runs', '--json', '--config', stack.lab.configPath]);
    const get = await cli(['backup', 'get', '--site', 'runs', '--json', '--config', stack.lab.configPath]);
    expect(get.stdout).toBe(list.stdout);
    const setId = (JSON.parse(list.stdout) as { sets: { setId: string }[] }).sets[0]!.setId;
    expect((await cli(['backup', 'describe', setId, '--config', stack.lab.configPath])).stdout).toContain(`set        ${setId}`);
  }, 120_000);

  it('backup cancel stops a running backup, which wait then reports CANCELLED (exit 1); logs show the cancel', async () => {
    await setFaults(stack.lab.nsx.url, { jobDurationMs: 8000 });
    try {
      const { workflowId } = JSON.parse((await cli(['backup', 'run', '--site', 'runs', '--no-wait', '--json', ...conn()])).stdout) as { workflowId: string };
      await until('the NSX wait', async () => {
        const s = JSON.parse((await cli(['backup', 'status', workflowId, '--json', ...conn()])).stdout) as { steps?: { name: string; status: string }[] };
        return s.steps?.find((x) => x.name === 'waitNsx')?.status === 'running' ? true : undefined;
      }, 60_000);
      const cancelled = await cli(['backup', 'cancel', workflowId, ...conn()]);
      expect(cancelled.code, cancelled.stderr).toBe(0);
      const waited = await cli(['backup', 'wait', workflowId, ...conn()]);
      expect(waited.code).toBe(1);
      expect(waited.stderr).toMatch(/CANCELLED/);
      const logs = (await cli(['backup', 'logs', workflowId, ...conn()])).stdout;
      expect(logs).toMatch(/cancel +requested/);
      expect(logs).toMatch(/cancelled +the run ended cancelled/);
    } finally {
      await setFaults(stack.lab.nsx.url, { jobDurationMs: 400 });
    }
  }, 120_000);

  it('--all-sites backs up every site at once and lists them all; a list needs --site or --all-sites', async () => {
    const r = await cli(['backup', 'run', '--all-sites', '--json', ...conn()]);
    expect(r.code, r.stderr).toBe(0);
    const { sites } = JSON.parse(r.stdout) as { sites: { site: string; status: string; setId: string }[] };
    expect(sites.map((x) => [x.site, x.status]).sort()).toEqual([['runs', 'complete'], ['runs2', 'complete']]);
    const listed = JSON.parse((await cli(['backup', 'list', '--all-sites', '--json', '--config', stack.lab.configPath])).stdout) as { sets: { site: string; setId: string }[] };
    for (const x of sites) expect(listed.sets.find((m) => m.setId === x.setId)?.site).toBe(x.site);
    const table = (await cli(['backup', 'list', '--all-sites', '--config', stack.lab.configPath])).stdout;
    expect(table.split('\n')[0]).toMatch(/^SITE +SET ID/);
    const neither = await cli(['backup', 'list', '--config', stack.lab.configPath]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('say which site: --site NAME, or --all-sites');
    expect((await cli(['backup', 'run', '--site', 'runs', '--all-sites', ...conn()])).code).toBe(2);
  }, 120_000);

  it('an unknown run is bad input', async () => {
    expect((await cli(['backup', 'status', 'no-such-run', ...conn()])).code).toBe(2);
  });
});
