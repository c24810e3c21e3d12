import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as activities from '../../activities/index.js';
import { startWorkerEnv } from '../fixtures/temporal.js';
import { labFetch, editLabConfig, setFaults, type TestLab } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { resolveSecret } from '../../src/config/secrets.js';
import type { BackupSetManifest } from '../../src/domain/backup-set.js';
import { progressQuery } from '../../workflows/backup/coordinated-backup.js';
import { drillProgressQuery, type RestoreDrillInput, type RestoreDrillResult } from '../../workflows/restore/restore-drill.js';

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
const taskQueue = 'drill-test';

beforeAll(async () => {
  ({ env, lab, stop } = await startWorkerEnv({ site: 'drill', taskQueue, activities }));
}, 120_000);
afterAll(async () => stop?.());

let n = 0;
const backup = async (whileRunning?: () => Promise<void>) => {
  const h = await env.client.workflow.start('coordinatedBackup', { taskQueue, workflowId: `drill-backup-${++n}`, args: [{ site: lab.site }] });
  await whileRunning?.();
  return ((await h.result()) as { setId: string }).setId;
};
const drill = (o: Partial<RestoreDrillInput> = {}) => env.client.workflow.start('restoreDrill', { taskQueue, workflowId: `restore-drill-${lab.site}-test-${++n}`, args: [{ site: lab.site, pollMs: 200, ...o }] });
const manifest = (setId: string) => JSON.parse(readFileSync(join(lab.targetOnDisk, 'sets', setId, 'backup-set.json'), 'utf8')) as BackupSetManifest;
const sandboxRecord = () => JSON.parse(readFileSync(join(lab.targetOnDisk, 'drills', 'sandbox.json'), 'utf8')) as { state: string; reason?: string; drillRun: string };
const failureOf = async (p: Promise<unknown>) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return (err as WorkflowFailedError).cause as ApplicationFailure;
};
const drillMessages = () => lab.receiver!.messages().filter((m) => m.path === '/backup-team');
const policy = async (method: string, path: string, body?: object) => {
  const auth = Buffer.from(`${lab.config.nsx.user}:${await resolveSecret(lab.config.nsx.password)}`).toString('base64');
  const res = await labFetch(`${lab.nsx.url}/policy/api/v1/infra/${path}`, { method, headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
  expect(res.ok).toBe(true);
};

describe('restore drills against the lab', () => {
  it('restores the newest set into the sandbox, finds what the backup captured, and marks the set restore-tested', async () => {
    const setId = await backup();
    const captured = manifest(setId).captured!;
    expect(captured.nsx.map((i) => i.kind)).toContain('firewall rule');
    expect(captured.vcenter.map((i) => i.kind)).toEqual(expect.arrayContaining(['datacenter', 'cluster', 'host']));
    expect(lab.sandbox.nsx.configState().segments, 'the sandbox starts empty').toEqual([]);
    const h = await drill();
    const r = (await h.result()) as RestoreDrillResult;
    expect(r).toMatchObject({ status: 'passed', setId, drillRun: h.workflowId, compared: { nsx: expect.stringContaining('4 segments'), vcenter: expect.stringContaining('3 hosts') } });
    expect(lab.sandbox.nsx.configState()).toEqual(lab.nsx.configState());
    const m = manifest(setId);
    expect(m.restoreTested).toEqual(r.restoreTested);
    expect(m.drills?.at(-1)).toMatchObject({ drillRun: h.workflowId, ok: true, problems: [] });
    expect(sandboxRecord()).toMatchObject({ state: 'restored', drillRun: h.workflowId });
    expect((await h.query(drillProgressQuery)).state).toBe('passed');
  });

  it('fails, naming the difference, when NSX\'s configuration changed between the capture and the NSX backup; the drill contacts are told', async () => {
    await setFaults(lab.nsx.url, { jobDurationMs: 3000 });
    const before = drillMessages().length;
    let setId = '';
    try {
      setId = await backup(async () => {
        // An operator edits a firewall rule while the backup runs: the backup holds the edit, the capture does not.
        await until('the capture to be done', async () => {
          const p = await env.client.workflow.getHandle(`drill-backup-${n}`).query(progressQuery).catch(() => undefined);
          return p?.steps.find((s) => s.name === 'capture')?.status === 'done' ? true : undefined;
        }, 30_000);
        await policy('PATCH', 'domains/default/security-policies/three-tier/rules/web-to-app', { action: 'DROP' });
      });
    } finally {
      await setFaults(lab.nsx.url, { jobDurationMs: 400 });
    }
    expect(manifest(setId).status).toBe('complete');
    const h = await drill();
    const f = await failureOf(h.result());
    expect(f.type).toBe('DrillFailed');
    expect(f.message).toContain('NSX firewall rule web to app (three-tier/web-to-app): changed');
    const m = manifest(setId);
    expect(m.restoreTested).toBeUndefined();
    expect(m.drills?.at(-1)).toMatchObject({ ok: false, problems: ['NSX firewall rule web to app (three-tier/web-to-app): changed'] });
    const told = drillMessages().slice(before);
    expect(told).toHaveLength(1);
    expect(JSON.stringify(told[0]!.body)).toContain('web to app');
    // The edit stays: later backups capture and carry it alike.
    await policy('PATCH', 'domains/default/security-policies/three-tier/rules/web-to-app', { action: 'ALLOW' });
  });

  it('fails on a set whose file was damaged on the target, before anything is restored, naming the file', async () => {
    const setId = await backup();
    const m = manifest(setId);
    const file = m.vcenter!.files.find((f) => f.path.endsWith('config_files.tar.gz'))!;
    const onDisk = join(lab.targetOnDisk, file.path);
    const bytes = readFileSync(onDisk);
    bytes[bytes.length >> 1] ^= 0xff;
    writeFileSync(onDisk, bytes);
    const before = drillMessages().length;
    const f = await failureOf((await drill()).result());
    expect(f.type).toBe('DrillFailed');
    expect(f.message).toContain('no longer verifies');
    expect(f.message).toContain(file.path);
    expect(sandboxRecord().state, 'nothing was restored: the sandbox is as it was').toBe('restored');
    expect(drillMessages().length).toBe(before + 1);
    expect(manifest(setId).restoreTested).toBeUndefined();
  });

  it('a drill cancelled during the restore stops it, ends Cancelled and leaves the sandbox marked dirty; without a redeploy hook the next drill refuses until told it was redeployed', async () => {
    // The newest good set: the damaged one above is now known damaged and not picked.
    const setId = await backup();
    await setFaults(lab.sandbox.vcenter.url, { jobDurationMs: 60_000 });
    try {
      const h = await drill();
      await until('the sandbox vCenter restore to run', async () => {
        const d = await h.describe();
        if (d.status.name !== 'RUNNING') throw new Error(`the drill ended ${d.status.name}: ${await h.result().then(JSON.stringify, (e: Error) => (e.cause as Error)?.message)}`);
        return (await h.query(drillProgressQuery)).state === 'restoring' && (await restoreJobState()) === 'INPROGRESS' ? true : undefined;
      }, 60_000);
      await h.cancel();
      const err = await h.result().then(() => undefined, (e: unknown) => e);
      expect((err as WorkflowFailedError).cause?.name).toBe('CancelledFailure');
      expect(await restoreJobState(), 'the sandbox restore job was stopped').toBe('FAILED');
      expect(sandboxRecord()).toMatchObject({ state: 'dirty', drillRun: h.workflowId, reason: expect.stringContaining('cancelled') });
      expect(manifest(setId).restoreTested).toBeUndefined();
    } finally {
      await setFaults(lab.sandbox.vcenter.url, { jobDurationMs: 400 });
    }
    const putBack = editLabConfig(lab.configPath, (doc) => delete doc.sites[lab.site]!.drill.sandbox.redeploy);
    try {
      const refused = await failureOf((await drill()).result());
      expect(refused.type).toBe('SandboxDirty');
      expect(refused.message).toContain('--sandbox-redeployed');
      // Told it was redeployed (the cancelled restore left the appliance in restore mode), the drill goes on and passes.
      expect(await (await drill({ sandboxRedeployed: true })).result()).toMatchObject({ status: 'passed', setId });
      // Nobody redeployed it since: the vCenter there is no longer in restore mode, and the drill says so.
      const used = await failureOf((await drill()).result());
      expect(used.message).toContain('not in restore mode');
    } finally {
      putBack();
    }
    // With the hook, every drill starts from freshly deployed appliances.
    const redeploys = lab.sandbox.redeploys();
    expect(await (await drill()).result()).toMatchObject({ status: 'passed', setId });
    expect(lab.sandbox.redeploys()).toBe(redeploys + 1);
    expect(sandboxRecord().state).toBe('restored');
  }, 180_000);

  it('two drills at once (a scheduled and a manual one): the second is refused, naming the first, and the sandbox is free again after', async () => {
    await setFaults(lab.sandbox.vcenter.url, { jobDurationMs: 3000 });
    try {
      const first = await drill();
      await until('the first drill to restore', async () => ((await first.query(drillProgressQuery)).state === 'restoring' ? true : undefined), 60_000);
      const second = await failureOf((await drill()).result());
      expect(second.type).toBe('EndpointBusy');
      expect(second.message).toContain(first.workflowId);
      expect(await first.result()).toMatchObject({ status: 'passed' });
    } finally {
      await setFaults(lab.sandbox.vcenter.url, { jobDurationMs: 400 });
    }
    expect(await (await drill()).result()).toMatchObject({ status: 'passed' });
  }, 120_000);
});

async function restoreJobState(): Promise<string> {
  const login = await labFetch(`${lab.sandbox.vcenter.url}/api/session`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${lab.config.vcenter.user}:${await resolveSecret(lab.config.vcenter.password)}`).toString('base64')}` } });
  const sid = (await login.json()) as string;
  const job = await labFetch(`${lab.sandbox.vcenter.url}/api/appliance/recovery/restore/job`, { headers: { 'vmware-api-session-id': sid } });
  return ((await job.json()) as { state: string }).state;
}
