import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cli, startStack, type Stack } from '../fixtures/stack.js';
import { manifestsOnDisk } from '../fixtures/manifest.js';
import { editLabConfig, setFaults } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { endpointResource, type BackupSetManifest } from '../../src/domain/backup-set.js';
import { lockStateQuery, lockWorkflowId } from '../../workflows/locks/endpoint-lock.js';

/**
 * One NSX Manager serves two sites (each with a vCenter and a target directory of its own). Every
 * way a run starts — manual, scheduled, triggered, backfilled — takes the same per-endpoint locks.
 */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack('ex', { sharedNsxSites: ['ex2'] });
});
afterAll(async () => stack?.stop());

const conn = () => ['--config', stack.lab.configPath, '--address', stack.server.address];
const setsOf = (dir: string) => manifestsOnDisk(stack.lab.sftp.diskPath(dir));
const exDir = () => stack.lab.siteConfig.backupTarget.directory;
const ex2Dir = () => stack.lab.extraSites[0]!.directory;

/** Product windows of the sets, in start order: a run's NSX (or vCenter) backup never overlaps another's. */
function expectNoOverlap(sets: BackupSetManifest[], part: 'nsx' | 'vcenter') {
  const windows = sets.map((m) => ({ start: Date.parse(m[part]!.startTime!), end: Date.parse(m[part]!.endTime!) })).sort((a, b) => a.start - b.start);
  for (let i = 1; i < windows.length; i++) expect(windows[i]!.start, `${part} backup ${i} began before backup ${i - 1} ended`).toBeGreaterThanOrEqual(windows[i - 1]!.end);
}

describe('one backup per product endpoint at a time, for every way a run starts', () => {
  it('manual, scheduled, triggered and backfilled runs of one site at once: each waits its turn and holds a backup of its own', async () => {
    await setFaults(stack.lab.nsx.url, { jobDurationMs: 1200 });
    const create = await cli(['schedule', 'create', '--site', 'ex', '--every', '15s', '--overlap', 'allow-all', ...conn()]);
    expect(create.code, create.stderr).toBe(0);
    try {
      const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
      const [manual, trigger, backfill] = await Promise.all([
        cli(['backup', 'run', '--site', 'ex', '--json', ...conn()]),
        cli(['schedule', 'trigger', 'ex', ...conn()]),
        cli(['schedule', 'backfill', 'ex', '--from', `${yesterday}T10:00:00Z`, '--to', `${yesterday}T10:00:20Z`, ...conn()]),
      ]);
      expect(manual.code, manual.stderr).toBe(0);
      expect(trigger.code, trigger.stderr).toBe(0);
      expect(backfill.code, backfill.stderr).toBe(0);
      // The manual run, the triggered one, the backfilled ones (10:00:00 and 10:00:15), and at least one on the interval.
      await until('five runs of site ex to complete', () => setsOf(exDir()).filter((m) => m.status === 'complete').length >= 5 || undefined, 180_000);
    } finally {
      await cli(['schedule', 'delete', 'ex', ...conn()]);
      await setFaults(stack.lab.nsx.url, { jobDurationMs: 400 });
    }
    await until('runs in flight to end', () => setsOf(exDir()).every((m) => m.status !== 'running') || undefined, 60_000);
    const sets = setsOf(exDir());
    expect(sets.every((m) => m.status === 'complete'), JSON.stringify(sets.map((m) => [m.setId, m.status, m.failureReason]))).toBe(true);
    expect(new Set(sets.map((m) => m.nsx!.backupId)).size).toBe(sets.length);
    expect(new Set(sets.map((m) => m.vcenter!.jobId)).size).toBe(sets.length);
    expectNoOverlap(sets, 'nsx');
    expectNoOverlap(sets, 'vcenter');
  }, 300_000); // five or more backups, one after the other by design

  it('two sites on one NSX Manager at once: both complete, one after the other on NSX, each with its own backup in its own target', async () => {
    const [a, b] = await Promise.all([cli(['backup', 'run', '--site', 'ex', '--json', ...conn()]), cli(['backup', 'run', '--site', 'ex2', '--json', ...conn()])]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const ma = setsOf(exDir()).find((m) => m.setId === JSON.parse(a.stdout).setId)!;
    const mb = setsOf(ex2Dir()).find((m) => m.setId === JSON.parse(b.stdout).setId)!;
    expect(ma.nsx!.backupId).not.toBe(mb.nsx!.backupId);
    expectNoOverlap([ma, mb], 'nsx');
    for (const [m, dir] of [[ma, exDir()], [mb, ex2Dir()]] as const) {
      expect(m.nsx!.files.length).toBeGreaterThan(0);
      for (const f of m.nsx!.files) expect(existsSync(join(stack.lab.sftp.diskPath(dir), f.path)), f.path).toBe(true);
    }
  });

  it('--if-busy skip refuses at once, naming the run that holds the NSX Manager', async () => {
    await setFaults(stack.lab.nsx.url, { jobDurationMs: 8000 });
    try {
      const holder = await cli(['backup', 'run', '--site', 'ex', '--no-wait', '--json', ...conn()]);
      expect(holder.code, holder.stderr).toBe(0);
      const nsxLock = stack.client.workflow.getHandle(lockWorkflowId(endpointResource('nsx', stack.lab.siteConfig.nsx.url)));
      await until('the first run to hold NSX Manager', async () => (await nsxLock.query(lockStateQuery).catch(() => undefined))?.holder?.label.includes('site ex ') || undefined);
      const skipped = await cli(['backup', 'run', '--site', 'ex2', '--if-busy', 'skip', '--json', ...conn()]);
      expect(skipped.code).toBe(1);
      expect(JSON.parse(skipped.stdout).reason).toMatch(/nsx-127\.0\.0\.1-\d+ is busy with the backup of site ex \(set ex-\d{8}T\d{6}Z/);
      const bad = await cli(['backup', 'run', '--site', 'ex2', '--if-busy', 'later', ...conn()]);
      expect(bad.code).toBe(2);
    } finally {
      await setFaults(stack.lab.nsx.url, { jobDurationMs: 400 });
    }
    await until('the holder to finish', () => setsOf(exDir()).every((m) => m.status !== 'running') || undefined, 60_000);
  });

  it('runs read the live config: an endpoint edited between two scheduled runs reaches the second', async () => {
    const ex2Vcenter = stack.lab.extraSites[0]!.vcenter;
    expect((await cli(['schedule', 'create', '--site', 'ex', '--every', '1h', ...conn()])).code).toBe(0);
    const completedRuns = async () => {
      const d = JSON.parse((await cli(['schedule', 'describe', 'ex', '--json', ...conn()])).stdout);
      return d.recentActions.filter((a: { outcome: string }) => a.outcome === 'COMPLETED').length as number;
    };
    const restore = editLabConfig(stack.lab.configPath, () => undefined);
    try {
      expect((await cli(['schedule', 'trigger', 'ex', ...conn()])).code).toBe(0);
      await until('the first scheduled run', async () => (await completedRuns()) >= 1 || undefined, 60_000);
      const before = { own: stack.lab.vcenter.jobCount(), other: ex2Vcenter.jobCount() };

      // The operator moves site ex to another vCenter; the schedule itself is not touched.
      editLabConfig(stack.lab.configPath, (doc) => (doc.sites.ex!.vcenter.url = ex2Vcenter.url));
      expect((await cli(['schedule', 'trigger', 'ex', ...conn()])).code).toBe(0);
      await until('the second scheduled run', async () => (await completedRuns()) >= 2 || undefined, 60_000);
      expect({ own: stack.lab.vcenter.jobCount(), other: ex2Vcenter.jobCount() }).toEqual({ own: before.own, other: before.other + 1 });
      // The schedule carries the site's name only: no copy of the config that could go stale.
      const d = await stack.client.schedule.getHandle('sddc-ops.ex.backup').describe();
      expect(d.action.type === 'startWorkflow' && d.action.args).toEqual([{ site: 'ex' }]);
    } finally {
      restore();
      await cli(['schedule', 'delete', 'ex', ...conn()]);
    }
  }, 180_000);
});
