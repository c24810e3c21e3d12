import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as activities from '../../activities/index.js';
import { startWorkerEnv } from '../fixtures/temporal.js';
import { labFetch, editLabConfig, setFaults, type TestLab } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { rolledBack } from '../fixtures/scale-out.js';
import { runActivity } from '../fixtures/activity.js';
import { approveUpdate, scaleOutProgressQuery } from '../../workflows/scale-out/common.js';
import type { ExpandIksInput, ExpandIksResult } from '../../workflows/scale-out/expand-iks.js';
import type { ScaleOutPlanResult } from '../../workflows/scale-out/common.js';
import { IksClient } from '../../src/providers/ibm/iks.js';
import { iamFor } from '../../activities/endpoints.js';
import { loadConfig } from '../../src/config/load.js';

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
const taskQueue = 'expand-iks-test';
const CLUSTER = 'lab-apps';

beforeAll(async () => {
  ({ env, lab, stop } = await startWorkerEnv({ site: 'kube', taskQueue, activities }));
  await setFaults(ibm().iksUrl, { workerMs: 400 });
  // The owners acknowledged their app-data backups just now, on the site's first backup set.
  const backup = await env.client.workflow.execute('coordinatedBackup', { taskQueue, workflowId: 'kube-first-backup', args: [{ site: lab.site }] });
  const clusterId = lab.config.iksClusters[0]!.id;
  await runActivity(activities.recordAppDataAck, { target: lab.config.backupTarget, setId: (backup as { setId: string }).setId, clusterId, ack: { acknowledgedBy: 'shop-team', at: new Date().toISOString(), remindersSent: 1, escalated: false } });
}, 120_000);
afterAll(async () => stop?.());

/** The lab config's IBM Cloud block (the worker reads the same file). */
const ibm = () => {
  const { config } = loadConfig(lab.configPath);
  return config.ibmCloud!;
};
const iks = async () => new IksClient({ iksUrl: ibm().iksUrl, iam: await iamFor(ibm()), caFile: ibm().caFile });
/** The pool as a rollback must restore it: size, zones, and per zone how many workers in which state (ids change). */
const snapshot = async () => {
  const c = await iks();
  const clusterId = lab.config.iksClusters[0]!.id;
  const pool = await c.getWorkerPool(clusterId, 'default');
  const workers = (await c.listWorkers(clusterId)).filter((w) => w.poolid === pool.id).map((w) => `${w.location}:${w.state}:${w.status}`).sort();
  return { sizePerZone: pool.sizePerZone, zones: pool.zones.map((z) => z.id).sort(), workers };
};
const settled = () => until('the pool to settle', async () => ((await snapshot()).workers.every((w) => w.endsWith(':normal:Ready')) ? true : undefined), 60_000);

let n = 0;
const start = (change: ExpandIksInput['change'], o: Partial<ExpandIksInput> = {}) =>
  env.client.workflow.start('expandIks', { taskQueue, workflowId: `expand-iks-test-${++n}`, args: [{ site: lab.site, cluster: CLUSTER, pool: 'default', change, ...o } satisfies ExpandIksInput] });
/** Puts the pool back as it was (through the same activities a rollback uses). */
async function restore(to: { sizePerZone: number; zones: string[] }) {
  const t = { ibm: ibm(), cluster: lab.config.iksClusters[0]!, pool: 'default' };
  for (const z of (await snapshot()).zones.filter((x) => !to.zones.includes(x))) await runActivity(activities.changeWorkerPool, { ...t, change: { kind: 'remove-zone', zone: z } });
  await runActivity(activities.changeWorkerPool, { ...t, change: { kind: 'resize', sizePerZone: to.sizePerZone } });
  await until('the pool to be back', async () => {
    const s = await snapshot();
    return s.workers.length === to.sizePerZone * to.zones.length && s.workers.every((w) => w.endsWith(':normal:Ready')) ? true : undefined;
  }, 60_000);
}

describe('expandIks (saga) against the lab IKS', () => {
  it('resizes the pool, waits for every worker in every zone, records etcd before and after', async () => {
    const before = await snapshot();
    expect(before).toMatchObject({ sizePerZone: 1, zones: ['tok02', 'tok04', 'tok05'] });
    const r = (await (await start({ kind: 'resize', sizePerZone: 2 })).result()) as ExpandIksResult;
    expect(r).toMatchObject({ status: 'complete', cluster: CLUSTER, pool: 'default', workers: { before: 3, after: 6 } });
    expect(r.etcd.before).toMatchObject({ name: CLUSTER, masterHealth: 'normal', etcdBackup: { managedBy: 'provider' } });
    expect(Date.parse(r.etcd.after.recordedAt)).toBeGreaterThanOrEqual(Date.parse(r.etcd.before.recordedAt));
    const after = await snapshot();
    expect(after.sizePerZone).toBe(2);
    expect(after.workers).toHaveLength(6);
    expect(after.workers.every((w) => w.endsWith(':normal:Ready')), 'the run ended only when every worker was ready').toBe(true);
    await restore(before);
    expect(await snapshot()).toEqual(before);
  });

  it('adds a zone to the pool', async () => {
    const before = await snapshot();
    const r = (await (await start({ kind: 'add-zone', zone: 'tok06' })).result()) as ExpandIksResult;
    expect(r.workers).toEqual({ before: 3, after: 4 });
    expect((await snapshot()).zones).toEqual(['tok02', 'tok04', 'tok05', 'tok06']);
    await restore(before);
    expect(await snapshot()).toEqual(before);
  });

  it('a plan changes nothing and lists the step the run takes', async () => {
    const before = await snapshot();
    const p = (await (await start({ kind: 'resize', sizePerZone: 3 }, { planOnly: true })).result()) as ScaleOutPlanResult;
    expect(p.status).toBe('planned');
    expect(p.plan.iks).toMatchObject({ cluster: CLUSTER, pool: 'default', change: 'resize from 1 to 3 worker(s) per zone', workers: { before: 3, after: 9 }, ack: { by: 'shop-team' } });
    expect(p.plan.approvalNeeded).toBeUndefined();
    expect(p.steps).toEqual([{ name: 'resize from 1 to 3 worker(s) per zone in pool default, and wait for every worker', undo: 'resize back to 1 worker(s) per zone, and wait for the pool' }]);
    expect(await snapshot()).toEqual(before);
  });

  // One table for both kinds of change: a fault at each step leaves the pool as it was, and the
  // report lists the undo that ran.
  const refused = { refusePoolChange: { status: 409, code: 'E0093', description: 'The worker pool is being modified. Try again later.' } };
  const cases: { change: ExpandIksInput['change']; step: string; faults?: object; masterCritical?: boolean; says: RegExp }[] = [
    { change: { kind: 'resize', sizePerZone: 2 }, step: 'the resize request', faults: refused, says: /being modified/ },
    { change: { kind: 'resize', sizePerZone: 2 }, step: 'a worker that fails to provision', faults: { failWorkers: 1 }, says: /failed \(Infrastructure exception/ },
    { change: { kind: 'resize', sizePerZone: 2 }, step: 'the post-check (master turned critical)', masterCritical: true, says: /post-check: cluster lab-apps is normal, master critical/ },
    { change: { kind: 'add-zone', zone: 'tok06' }, step: 'the zone request', faults: refused, says: /being modified/ },
    { change: { kind: 'add-zone', zone: 'tok06' }, step: 'a worker that fails to provision', faults: { failWorkers: 1 }, says: /failed \(Infrastructure exception/ },
    { change: { kind: 'add-zone', zone: 'tok06' }, step: 'the post-check (master turned critical)', masterCritical: true, says: /post-check/ },
  ];
  for (const c of cases) {
    it(`${c.change.kind}: a fault at ${c.step} puts the pool back`, async () => {
      const before = await snapshot();
      const iksUrl = ibm().iksUrl;
      const master = (health: string) => labFetch(`${iksUrl}/lab/clusters/${lab.config.iksClusters[0]!.id}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ masterHealth: health }) });
      if (c.faults) await setFaults(iksUrl, c.faults);
      try {
        const h = await start(c.change);
        if (c.masterCritical) {
          await until('the change to run', async () => ((await h.query(scaleOutProgressQuery)).steps[0]?.status === 'running' ? true : undefined), 30_000);
          await master('critical');
        }
        const { failure, report } = await rolledBack(h.result());
        expect(failure.message).toMatch(c.says);
        expect(report.undone).toHaveLength(1);
        expect(report.undone[0]!.undo).toMatch(c.change.kind === 'resize' ? /^resize back to 1 worker\(s\) per zone/ : /^remove zone tok06/);
        expect(report.failed).toEqual([]);
        const { currentDetails } = await h.query<{ currentDetails: string }>('__temporal_workflow_metadata');
        expect(currentDetails).toContain('**Rollback** — 1 undone');
      } finally {
        await master('normal');
        await setFaults(iksUrl, { workerMs: 400, failWorkers: 0 });
      }
      await settled();
      expect(await snapshot()).toEqual(before);
    });
  }

  it('a cancel while the workers provision puts the pool back', async () => {
    const before = await snapshot();
    await setFaults(ibm().iksUrl, { workerMs: 3000 });
    try {
      const h = await start({ kind: 'resize', sizePerZone: 2 });
      await until('the change to run', async () => ((await h.query(scaleOutProgressQuery)).steps[0]?.status === 'running' ? true : undefined), 30_000);
      await h.cancel();
      const { failure } = await rolledBack(h.result());
      expect(failure.message).toContain('the run was cancelled');
    } finally {
      await setFaults(ibm().iksUrl, { workerMs: 400 });
    }
    await settled();
    expect(await snapshot()).toEqual(before);
  });

  it('a stale app-data acknowledgement blocks the change until approved, and names the acknowledgement', async () => {
    const before = await snapshot();
    const putBack = editLabConfig(lab.configPath, (doc) => (doc.sites[lab.site]!.appData = { ...doc.sites[lab.site]!.appData, maxAgeBeforeChange: '1s' }));
    try {
      await new Promise((r) => setTimeout(r, 1100));
      const h = await start({ kind: 'add-zone', zone: 'tok06' });
      await until('the run to ask for approval', async () => ((await h.query(scaleOutProgressQuery)).state === 'awaiting-approval' ? true : undefined), 30_000);
      const p = await h.query(scaleOutProgressQuery);
      expect(p.plan!.approvalNeeded).toMatch(/acknowledgement \(by shop-team at .*\) is older than appData\.maxAgeBeforeChange \(1s\)/);
      expect(await snapshot(), 'nothing changes while it waits').toEqual(before);
      await h.executeUpdate(approveUpdate, { args: [{ by: 'platform-lead' }] });
      const r = (await h.result()) as ExpandIksResult;
      expect(r.approvedBy).toBe('platform-lead');
    } finally {
      putBack();
    }
    await restore(before);
    expect(await snapshot()).toEqual(before);
  });

  it('pre-checks refuse an unknown pool (naming the ones there), a zone already in the pool, and an unlinked cluster — before any change', async () => {
    const before = await snapshot();
    const fails = async (p: Promise<unknown>) => ((await p.then(() => undefined, (e: unknown) => e)) as WorkflowFailedError).cause as ApplicationFailure;
    const a = await fails((await start({ kind: 'resize', sizePerZone: 2 }, { pool: 'gpu' })).result());
    expect(a.message).toMatch(/no worker pool gpu \(pools: default\)/);
    const b = await fails((await start({ kind: 'add-zone', zone: 'tok04' })).result());
    expect(b.message).toMatch(/nothing was changed: worker pool default already spans zone tok04/);
    const c = await fails((await start({ kind: 'resize', sizePerZone: 2 }, { cluster: 'other' })).result());
    expect(c.type).toBe('BadConfig');
    expect(c.message).toMatch(/cluster other is not linked to site kube \(sites\.kube\.iksClusters: lab-apps\)/);
    expect(await snapshot()).toEqual(before);
  });
});
