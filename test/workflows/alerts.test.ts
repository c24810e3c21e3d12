import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as activities from '../../activities/index.js';
import { startWorkerEnv } from '../fixtures/temporal.js';
import { editLabConfig, setFaults, type TestLab } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { siteSchedules } from '../../src/schedules/schedules.js';
import { progressQuery } from '../../workflows/backup/coordinated-backup.js';
import type { WatchdogResult } from '../../workflows/alerts/watchdog.js';

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
const taskQueue = 'alerts-test';

beforeAll(async () => {
  ({ env, lab, stop } = await startWorkerEnv({ site: 'alerted', taskQueue, activities }));
}, 120_000);
afterAll(async () => stop?.());

let n = 0;
const startBackup = () => env.client.workflow.start('coordinatedBackup', { taskQueue, workflowId: `alerts-backup-${++n}`, args: [{ site: lab.site }] });
const watchdog = () => env.client.workflow.execute('backupWatchdog', { taskQueue, workflowId: `alerts-watchdog-${++n}`, args: [{ site: lab.site }] }) as Promise<WatchdogResult>;
const alerts = () => lab.receiver!.messages().filter((m) => m.path === '/alerts').map((m) => (m.body as { text: string }).text);
const newAlerts = async (before: number, count: number) => until(`${count} new alert(s)`, async () => (alerts().length >= before + count ? alerts().slice(before) : undefined), 30_000);

describe('alerts on failed, cancelled, abandoned and missing backups', () => {
  it('a failed backup run tells the site\'s alert contacts, in the product\'s words, once', async () => {
    const before = alerts().length;
    await setFaults(lab.nsx.url, { failJob: { message: 'Backup failed: disk full on the manager.' } });
    const h = await startBackup();
    await expect(h.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const [text] = await newAlerts(before, 1);
    expect(text).toContain(`Backup of site ${lab.site} failed`);
    expect(text).toContain('disk full on the manager');
    expect(text).toContain(h.workflowId);
    await new Promise((r) => setTimeout(r, 500));
    expect(alerts().length).toBe(before + 1);
  });

  it('a cancelled backup run tells them it was cancelled and at which step', async () => {
    const before = alerts().length;
    await setFaults(lab.nsx.url, { jobDurationMs: 8000 });
    try {
      const h = await startBackup();
      await until('the NSX wait', async () => ((await h.query(progressQuery)).steps.find((s) => s.name === 'waitNsx')?.status === 'running' ? true : undefined), 30_000);
      await h.cancel();
      await expect(h.result()).rejects.toBeInstanceOf(WorkflowFailedError);
      const [text] = await newAlerts(before, 1);
      expect(text).toContain('was cancelled');
      expect(text).toMatch(/cancelled at step "wait(Nsx|Vcenter)"/);
    } finally {
      await setFaults(lab.nsx.url, { jobDurationMs: 400 });
    }
  }, 90_000);

  it('the watchdog alerts once when the newest good set is too old, and once for a run that was terminated', async () => {
    const good = (await (await startBackup()).result()) as { setId: string };
    // A run that is terminated can tell no one: the watchdog finds its set abandoned.
    await setFaults(lab.nsx.url, { jobDurationMs: 8000 });
    const killed = await startBackup();
    try {
      await until('the NSX wait', async () => ((await killed.query(progressQuery)).steps.find((s) => s.name === 'waitNsx')?.status === 'running' ? true : undefined), 30_000);
      await killed.terminate('operator pulled the plug');
    } finally {
      await setFaults(lab.nsx.url, { jobDurationMs: 400 });
    }
    const putBack = editLabConfig(lab.configPath, (doc) => (doc.sites[lab.site]!.alerts.maxAgeWithoutGoodSet = '2s'));
    try {
      await new Promise((r) => setTimeout(r, 2500));
      const before = alerts().length;
      const r = await watchdog();
      expect(r).toMatchObject({ stale: true, newestGood: { setId: good.setId } });
      expect(r.alerted).toHaveLength(2);
      const texts = await newAlerts(before, 2);
      expect(texts.find((t) => t.includes('was abandoned'))).toContain(killed.workflowId);
      expect(texts.find((t) => t.includes('No recent good backup'))).toContain(good.setId);
      // Said once: the next look finds the same and stays quiet.
      expect((await watchdog()).alerted).toEqual([]);
      expect(alerts().length).toBe(before + 2);
    } finally {
      putBack();
    }
    // Within the limit again (26h): nothing to say.
    expect(await watchdog()).toMatchObject({ stale: false, alerted: [] });
  }, 120_000);

  it('schedule apply makes a watchdog for every site with alerts, unless the site lists its own', () => {
    const w = siteSchedules(lab.config).find((s) => s.purpose === 'watchdog');
    expect(w).toMatchObject({ every: '1h', overlap: 'skip' });
    expect(siteSchedules({ ...lab.config, alerts: undefined }).some((s) => s.purpose === 'watchdog')).toBe(false);
    const own = siteSchedules({ ...lab.config, schedules: [{ purpose: 'watchdog', cron: '*/10 * * * *', timezone: 'UTC', overlap: 'skip', pauseOnFailure: false }] });
    expect(own.filter((s) => s.purpose === 'watchdog')).toEqual([expect.objectContaining({ cron: '*/10 * * * *' })]);
  });
});
