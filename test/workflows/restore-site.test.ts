import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readFileSync, writeFileSync } from 'node:fs';
import * as activities from '../../activities/index.js';
import { startWorkerEnv } from '../fixtures/temporal.js';
import { editLabConfig, setFaults, type TestLab } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { startVcenterSimulator } from '../../src/lab/vcenter.js';
import { startNsxSimulator } from '../../src/lab/nsx.js';
import { restoreContinueUpdate, restoreProgressQuery, type RestoreSiteInput, type RestoreSiteResult } from '../../workflows/restore/restore-site.js';

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
let setId: string;
const taskQueue = 'restore-test';
const fresh: { close: () => Promise<void> }[] = [];

beforeAll(async () => {
  ({ env, lab, stop } = await startWorkerEnv({ site: 'dr', taskQueue, activities }));
  setId = ((await env.client.workflow.execute('coordinatedBackup', { taskQueue, workflowId: 'dr-backup', args: [{ site: lab.site }] })) as { setId: string }).setId;
}, 120_000);
afterAll(async () => {
  for (const f of fresh) await f.close();
  await stop?.();
});

/** The site is lost: new appliances are deployed (vCenter in restore mode, a bare NSX Manager) and the site's addresses lead to them. */
async function newAppliances() {
  const login = { user: lab.config.vcenter.user, password: await resolveSecret(lab.config.vcenter.password) };
  const vcenter = await startVcenterSimulator({ ...login, restoreMode: true, version: '8.0.3.00000', jobDurationMs: 400, tls: lab.tls.server });
  const nsx = await startNsxSimulator({ user: lab.config.nsx.user, password: await resolveSecret(lab.config.nsx.password), jobDurationMs: 400, fresh: true, tls: lab.tls.server });
  fresh.push(vcenter, nsx);
  const putBack = editLabConfig(lab.configPath, (doc) => {
    doc.sites[lab.site]!.vcenter.url = vcenter.url;
    doc.sites[lab.site]!.nsx.url = nsx.url;
  });
  return { vcenter, nsx, putBack };
}
let n = 0;
const start = (o: Partial<RestoreSiteInput> = {}) => env.client.workflow.start('restoreSite', { taskQueue, workflowId: `restore-test-${++n}`, args: [{ site: lab.site, pollMs: 200, ...o } satisfies RestoreSiteInput] });
const waitingFor = (h: WorkflowHandle, kind: 'go' | 'nsx-answer') =>
  until(`the restore to wait for ${kind}`, async () => {
    const p = await h.query(restoreProgressQuery);
    return p.waitingFor?.kind === kind ? p : undefined;
  }, 60_000);

describe('restoreSite against the lab', () => {
  it('restores vCenter then NSX from the newest verified set, each stage on a go-ahead, NSX\'s pause answered', async () => {
    const { vcenter, nsx, putBack } = await newAppliances();
    try {
      expect(nsx.configState().segments, 'a new manager holds no configuration').toEqual([]);
      expect(vcenter.inventory().hosts).toEqual([]);
      const h = await start();
      const first = await waitingFor(h, 'go');
      expect(first).toMatchObject({ setId, waitingFor: { stage: 'the vCenter restore' } });
      expect(first.stages[0]).toMatchObject({ name: 're-verify the set', status: 'done' });
      expect(vcenter.inRestoreMode(), 'nothing restored before the go-ahead').toBe(true);
      await expect(h.executeUpdate(restoreContinueUpdate, { args: [{ by: ' ' }] })).rejects.toThrow();
      await h.executeUpdate(restoreContinueUpdate, { args: [{ by: 'ops' }] });
      expect((await waitingFor(h, 'go')).waitingFor).toEqual({ kind: 'go', stage: 'the NSX restore' });
      expect(vcenter.inRestoreMode()).toBe(false);
      await h.executeUpdate(restoreContinueUpdate, { args: [{ by: 'ops' }] });
      const pause = await waitingFor(h, 'nsx-answer');
      expect(pause.waitingFor).toMatchObject({ instructions: [{ id: 'CONFIRM_FABRIC_NODES' }] });
      const { currentDetails } = await h.query<{ currentDetails: string }>('__temporal_workflow_metadata');
      expect(currentDetails).toContain('**NSX waits for the operator**');
      expect(currentDetails).toContain('--answer CONFIRM_FABRIC_NODES');
      await expect(h.executeUpdate(restoreContinueUpdate, { args: [{ by: 'ops', answers: [] }] })).rejects.toThrow();
      await h.executeUpdate(restoreContinueUpdate, { args: [{ by: 'net-lead', answers: [{ id: 'CONFIRM_FABRIC_NODES' }] }] });
      const r = (await h.result()) as RestoreSiteResult;
      expect((await h.query(restoreProgressQuery)).stages[3]).toMatchObject({ status: 'done', detail: expect.stringContaining('cluster STABLE') });
      // What the backups carried is what the new appliances hold now.
      expect(nsx.configState()).toEqual(lab.nsx.configState());
      expect(vcenter.inventory()).toEqual(lab.vcenter.inventory());
      expect(r).toMatchObject({ status: 'restored', setId, vcenterVersion: '8.0.3.00400', goAheads: [{ stage: 'the vCenter restore', by: 'ops' }, { stage: 'the NSX restore', by: 'ops' }], nsxAnswers: [{ instructions: ['CONFIRM_FABRIC_NODES'], by: 'net-lead' }] });
    } finally {
      putBack();
    }
  });

  it('an NSX restore that fails stops the run in NSX\'s words; with --yes nobody is asked', async () => {
    const { nsx, putBack } = await newAppliances();
    nsx.faults.set({ failJob: { message: 'Restore of the node failed: the management plane did not come up.' } });
    try {
      const h = await start({ yes: true });
      await waitingFor(h, 'nsx-answer');
      await h.executeUpdate(restoreContinueUpdate, { args: [{ by: 'ops', answers: [{ id: 'CONFIRM_FABRIC_NODES' }] }] });
      const err = (await h.result().then(() => undefined, (e: unknown) => e)) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err.cause as ApplicationFailure).cause as ApplicationFailure;
      expect(cause.type).toBe('RestoreFailed');
      expect(cause.message).toMatch(/the NSX restore is FAILED: Restore of the node failed: the management plane did not come up/);
      expect((await h.query(restoreProgressQuery)).stages[2]).toMatchObject({ status: 'failed' });
    } finally {
      putBack();
    }
  });

  it('a restored NSX cluster that does not become STABLE fails the post-check, naming its status', async () => {
    const { nsx, putBack } = await newAppliances();
    try {
      await setFaults(nsx.url, { clusterStatus: 'DEGRADED' });
      const h = await start({ yes: true, autoAnswer: true, stableWithinMs: 1500 });
      const err = await h.result().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = ((err as WorkflowFailedError).cause as { cause?: ApplicationFailure }).cause!;
      expect(cause.type).toBe('RestorePostcheckFailed');
      expect(cause.message).toContain('the NSX cluster is DEGRADED, not STABLE');
      expect((await h.query(restoreProgressQuery)).stages[3]).toMatchObject({ status: 'failed' });
    } finally {
      putBack();
    }
  });

  it('an archive the new vCenter refuses (the backup password reference now holds another value) stops the run before anything is restored', async () => {
    const { vcenter, putBack } = await newAppliances();
    const ref = lab.config.vcenter.backupPassword;
    const file = ref.replace(/^file:/, '');
    const original = readFileSync(file);
    writeFileSync(file, 'Another-Pass-1!\n');
    try {
      const err = (await (await start({ yes: true })).result().then(() => undefined, (e: unknown) => e)) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err.cause as ApplicationFailure).cause as ApplicationFailure;
      expect(cause.type).toBe('RestoreRefused');
      expect(cause.message).toMatch(/^nothing was changed: the vCenter at .* refuses the archive: The backup password is incorrect/);
      expect(vcenter.inRestoreMode()).toBe(true);
    } finally {
      writeFileSync(file, original);
      putBack();
    }
  });

  it('a cancel during the vCenter restore stops the appliance\'s restore job and ends the run Cancelled, saying what it stopped', async () => {
    const { vcenter, putBack } = await newAppliances();
    vcenter.faults.set({ jobDurationMs: 6000 });
    try {
      const h = await start({ yes: true });
      await until('the vCenter restore to run', async () => ((await h.query(restoreProgressQuery)).stages[1]?.status === 'running' ? true : undefined), 30_000);
      await new Promise((r) => setTimeout(r, 500));
      await h.cancel();
      const err = (await h.result().then(() => undefined, (e: unknown) => e)) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      expect(err.cause?.name).toBe('CancelledFailure');
      const p = await h.query(restoreProgressQuery);
      expect(p.state).toBe('cancelled');
      expect(p.stages[1]!.detail).toMatch(/^cancelled; stopped the vCenter restore job — redeploy/);
      expect(vcenter.inRestoreMode(), 'a cancelled restore leaves the appliance in restore mode, to be redeployed').toBe(true);
    } finally {
      putBack();
    }
  });
});
