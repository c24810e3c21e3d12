import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { readFileSync } from 'node:fs';
import { until } from '../fixtures/wait.js';
import { cli, startStack, type Stack } from '../fixtures/stack.js';
import { freePort } from '../../src/lab/sftp-server.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('sched');
});
afterAll(async () => stack?.stop());

const conn = () => ['--config', stack.lab.configPath, '--address', stack.server.address];


describe('schedules on a real Temporal server', () => {
  it('rejects a bad cron or time zone with exit 2 before contacting any server', async () => {
    const nowhere = ['--config', stack.lab.configPath, '--address', `127.0.0.1:${await freePort()}`];
    const badCron = await cli(['schedule', 'create', '--site', 'sched', '--cron', '0 25 * * *', ...nowhere]);
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toMatch(/--cron: the hour field "25" is not valid/);
    const fourFields = await cli(['schedule', 'create', '--site', 'sched', '--cron', '0 2 * *', ...nowhere]);
    expect(fourFields.code).toBe(2);
    expect(fourFields.stderr).toMatch(/has 4 field\(s\); write five: minute hour day-of-month month day-of-week/);
    const badTz = await cli(['schedule', 'create', '--site', 'sched', '--cron', '0 2 * * *', '--tz', 'Asia/Atlantis', ...nowhere]);
    expect(badTz.code).toBe(2);
    expect(badTz.stderr).toMatch(/--tz: "Asia\/Atlantis" is not an IANA time zone/);
  });

  it('lifecycle: create → describe → trigger → a real run completes → pause → delete', async () => {
    const created = await cli(['schedule', 'create', '--site', 'sched', '--cron', '0 2 * * *', '--tz', 'Asia/Tokyo', '--jitter', '5m', ...conn()]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/created schedule sddc-ops\.sched\.backup/);

    const d1 = JSON.parse((await cli(['schedule', 'describe', 'sched', '--json', ...conn()])).stdout);
    expect(d1.nextActionTimes).toHaveLength(5);
    // 02:00 in Tokyo is 17:00 UTC, plus up to 5 minutes of jitter.
    for (const t of d1.nextActionTimes) expect(new Date(t).getUTCHours()).toBe(17);
    // The spec as written, and the next runs on Tokyo's clock.
    expect(d1).toMatchObject({ cron: '0 2 * * *', timezone: 'Asia/Tokyo', jitter: '5m' });
    for (const l of d1.nextLocal) expect(l).toMatch(/^\d{4}-\d\d-\d\d 02:0[0-5]:\d\d Asia\/Tokyo$/);
    const human = (await cli(['schedule', 'describe', 'sched', ...conn()])).stdout;
    expect(human).toMatch(/^when {4}cron "0 2 \* \* \*" in Asia\/Tokyo, jitter 5m$/m);
    expect(human).toMatch(/^next runs \(Asia\/Tokyo\):\n {2}\d{4}-\d\d-\d\d 02:0/m);
    const listed = (await cli(['schedule', 'list', ...conn()])).stdout;
    expect(listed.split('\n')[0]).toMatch(/^SCHEDULE +STATE +WHEN +TIME ZONE +JITTER +NEXT RUN/);
    expect(listed).toMatch(/sddc-ops\.sched\.backup +active +cron "0 2 \* \* \*" +Asia\/Tokyo +5m +\d{4}-\d\d-\d\d 02:0\d:\d\d Asia\/Tokyo/);

    expect((await cli(['schedule', 'trigger', 'sched', ...conn()])).code).toBe(0);
    const done = await until('the triggered run to complete', async () => {
      const d = JSON.parse((await cli(['schedule', 'describe', 'sched', '--json', ...conn()])).stdout);
      return d.recentActions.find((a: { outcome: string }) => a.outcome === 'COMPLETED');
    });
    expect(done.workflowId).toMatch(/^coordinated-backup-sched-/);
    const run = await stack.client.workflow.getHandle(done.workflowId).describe();
    expect(run.searchAttributes).toMatchObject({ SddcSite: ['sched'], SddcOperation: ['coordinated-backup'] });

    // Backfill the window of yesterday's 02:00 Tokyo run: one more real run.
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const backfill = await cli(['schedule', 'backfill', 'sched', '--from', `${yesterday}T16:00:00Z`, '--to', `${yesterday}T18:00:00Z`, ...conn()]);
    expect(backfill.code, backfill.stderr).toBe(0);
    await until('the backfilled run to complete', async () => {
      const d = JSON.parse((await cli(['schedule', 'describe', 'sched', '--json', ...conn()])).stdout);
      return d.recentActions.filter((a: { outcome: string }) => a.outcome === 'COMPLETED').length >= 2 ? true : undefined;
    });
    const badRange = await cli(['schedule', 'backfill', 'sched', '--from', '2026-11-02T00:00:00Z', '--to', '2026-11-01T00:00:00Z', ...conn()]);
    expect(badRange.code).toBe(2);

    const paused = await cli(['schedule', 'pause', 'sched', '--note', 'maintenance window', ...conn()]);
    expect(paused.code).toBe(0);
    const d2 = JSON.parse((await cli(['schedule', 'describe', 'sched', '--json', ...conn()])).stdout);
    expect(d2).toMatchObject({ paused: true, note: 'maintenance window' });
    // Unpaused without a note: the operator's note stays.
    const unpaused = await cli(['schedule', 'unpause', 'sched', '--json', ...conn()]);
    expect(JSON.parse(unpaused.stdout)).toEqual({ scheduleId: 'sddc-ops.sched.backup', paused: false, note: 'maintenance window' });
    expect(JSON.parse((await cli(['schedule', 'describe', 'sched', '--json', ...conn()])).stdout)).toMatchObject({ paused: false, note: 'maintenance window' });
    expect((await cli(['schedule', 'pause', 'sched', '--note', 'done', ...conn()])).code).toBe(0);
    expect((await cli(['schedule', 'unpause', 'sched', '--note', 'done', ...conn()])).code).toBe(0);
    expect(JSON.parse((await cli(['schedule', 'describe', 'sched', '--json', ...conn()])).stdout)).toMatchObject({ paused: false, note: 'done' });

    const deleted = await cli(['schedule', 'delete', 'sched', '--json', ...conn()]);
    expect(JSON.parse(deleted.stdout)).toEqual({ scheduleId: 'sddc-ops.sched.backup', deleted: true });
    const gone = await cli(['schedule', 'describe', 'sched', ...conn()]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/no schedule sddc-ops\.sched\.backup/);
  });

  it('apply reconciles the config file and is idempotent; a short interval produces real runs', async () => {
    const doc = parse(readFileSync(stack.lab.configPath, 'utf8'));
    doc.sites.sched.schedules = [{ purpose: 'backup', every: '4s', overlap: 'skip', note: 'from config' }];
    const file = join(stack.dataDir, 'with-schedules.yaml');
    writeFileSync(file, stringify(doc));
    const args = ['--config', file, '--address', stack.server.address];

    const dry = await cli(['schedule', 'apply', '--dry-run', ...args]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^\+ sddc-ops\.sched\.backup: every 4s UTC, overlap skip/m);

    const first = await cli(['schedule', 'apply', ...args]);
    expect(first.stdout).toMatch(/^\+ sddc-ops\.sched\.backup/m);
    const second = await cli(['schedule', 'apply', ...args]);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('');
    expect(second.stderr).toMatch(/no changes/);

    const runs = await until('two scheduled runs to complete', async () => {
      const d = JSON.parse((await cli(['schedule', 'describe', 'sched', '--json', ...args])).stdout);
      const completed = d.recentActions.filter((a: { outcome: string }) => a.outcome === 'COMPLETED');
      return completed.length >= 2 ? completed : undefined;
    }, 90_000);
    expect(runs.length).toBeGreaterThanOrEqual(2);

    doc.sites.sched.schedules = [];
    writeFileSync(file, stringify(doc));
    const removed = await cli(['schedule', 'apply', ...args]);
    expect(removed.stdout).toMatch(/^- sddc-ops\.sched\.backup: no longer in the config file/m);
  });
});
