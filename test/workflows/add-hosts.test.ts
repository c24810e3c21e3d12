import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as activities from '../../activities/index.js';
import { startWorkerEnv } from '../fixtures/temporal.js';
import { editLabConfig, type TestLab } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { runActivity } from '../fixtures/activity.js';
import { scaleOutInventory } from '../../activities/scale-out/hosts.js';
import { approveUpdate, scaleOutProgressQuery, type AddHostsInput, type AddHostsResult } from '../../workflows/scale-out/add-hosts.js';
import type { RollbackReport } from '../../src/domain/saga.js';
import type { VsphereFaults } from '../../src/lab/vsphere.js';

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
const taskQueue = 'scale-out-test';
process.env.SDDC_TEST_ESXI_PASSWORD = 'lab-esxi-password';
const PERCENT_POLICY = { enabled: true, admissionControlEnabled: true, failoverLevel: 1, policy: { kind: 'resources' as const, cpuPercent: 34, memoryPercent: 34, failoverLevel: 1, autoCompute: false } };

beforeAll(async () => {
  ({ env, lab, stop } = await startWorkerEnv({ site: 'grow', taskQueue, activities }));
  editLabConfig(lab.configPath, (doc) => (doc.sites[lab.site]!.scaleOut = { hostUser: 'root', hostPassword: 'env:SDDC_TEST_ESXI_PASSWORD' }));
  // The cluster starts with 3 hosts and a 34 % reservation for one host failure.
  await runActivity(activities.setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha: PERCENT_POLICY });
});
afterAll(async () => stop?.());

/** Clusters, their hosts and HA settings, and each host's state: what a rollback must restore. */
const snapshot = async () => {
  const inv = await runActivity(scaleOutInventory, { vcenter: lab.config.vcenter });
  return { clusters: inv.clusters.map(({ ref: _r, ...c }) => c), hosts: inv.hosts.map(({ ref: _r, ...h }) => h) };
};
let n = 0;
const start = async (hosts: string[], o: Partial<AddHostsInput> = {}) => {
  const pinned = await Promise.all(hosts.map(async (name) => ({ name, thumbprint: await lab.vsphere!.thumbprint(name) })));
  return env.client.workflow.start('addHosts', { taskQueue, workflowId: `add-hosts-test-${++n}`, args: [{ site: lab.site, cluster: 'DC0_C0', hosts: pinned, skipBackup: true, ...o } satisfies AddHostsInput] });
};
async function rolledBack(p: Promise<unknown>): Promise<{ failure: ApplicationFailure; report: RollbackReport }> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('ScaleOutRolledBack');
  return { failure, report: failure.details![0] as RollbackReport };
}

describe('addHosts (saga) against the lab vCenter', () => {
  it('adds two hosts, connected, and rewrites the HA reservation for five hosts', async () => {
    const before = await snapshot();
    const h = await start(['esx-41.lab.local', 'esx-42.lab.local']);
    const r = (await h.result()) as AddHostsResult;
    expect(r.added).toEqual(['esx-41.lab.local', 'esx-42.lab.local']);
    const after = await snapshot();
    const cluster = after.clusters.find((c) => c.name === 'DC0_C0')!;
    expect(cluster.hosts).toEqual([...before.clusters.find((c) => c.name === 'DC0_C0')!.hosts, 'esx-41.lab.local', 'esx-42.lab.local'].sort());
    expect(cluster.ha.policy).toEqual({ ...PERCENT_POLICY.policy, cpuPercent: 20, memoryPercent: 20 });
    for (const name of r.added) expect(after.hosts.find((x) => x.name === name)).toMatchObject({ cluster: 'DC0_C0', connectionState: 'connected', inMaintenanceMode: false });
    // Put the lab back for the cases below (through the same compensations a rollback uses).
    for (const name of r.added) await runActivity(activities.removeHostFromCluster, { vcenter: lab.config.vcenter, host: name });
    await runActivity(activities.setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha: PERCENT_POLICY });
    expect(await snapshot()).toEqual(before);
  });

  it('without skipBackup, takes a coordinated backup of the site first and records its set', async () => {
    const before = await snapshot();
    const r = (await (await start(['esx-45.lab.local'], { skipBackup: false })).result()) as AddHostsResult;
    expect(r.backup).toMatchObject({ setId: expect.stringMatching(/^grow-\d{8}T\d{6}Z$/) });
    await runActivity(activities.removeHostFromCluster, { vcenter: lab.config.vcenter, host: 'esx-45.lab.local' });
    await runActivity(activities.setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha: PERCENT_POLICY });
    expect(await snapshot()).toEqual(before);
  });

  // One table: a fault at each step k of the saga leaves the inventory as it was, and the report
  // lists the compensations that ran (newest first).
  const cases: { step: string; faults: VsphereFaults; undone: string[] }[] = [
    { step: 'add the first host', faults: { failMethod: { name: 'AddHost_Task', call: 1, fault: 'InvalidState' } }, undone: ['add host esx-51.lab.local'] },
    { step: 'add the second host', faults: { hostConnectFault: ['esx-52.lab.local'] }, undone: ['add host esx-52.lab.local', 'add host esx-51.lab.local'] },
    {
      step: 'rewrite the HA reservation',
      faults: { failMethod: { name: 'ReconfigureComputeResource_Task', call: 1, fault: 'InvalidState' } },
      undone: ['HA admission control: CPU 34% → 20%, memory 34% → 20%: 1 host failure(s) of 5 hosts', 'add host esx-52.lab.local', 'add host esx-51.lab.local'],
    },
  ];
  for (const c of cases) {
    it(`a fault when it comes to ${c.step} rolls everything back`, async () => {
      const before = await snapshot();
      await lab.vsphere!.setFaults(c.faults);
      try {
        const { failure, report } = await rolledBack((await start(['esx-51.lab.local', 'esx-52.lab.local'])).result());
        expect(report.undone.map((u) => u.step)).toEqual(c.undone);
        expect(report.failed).toEqual([]);
        expect(failure.message).toMatch(/rolled back \((vCenter|the run)/); // the step's own words, not "Activity task failed"
      } finally {
        await lab.vsphere!.clearFaults();
      }
      expect(await snapshot()).toEqual(before);
    });
  }

  it('a cancel mid-run rolls back what was done', async () => {
    const before = await snapshot();
    await lab.vsphere!.setFaults({ taskDelayMs: 1500 });
    try {
      const h = await start(['esx-61.lab.local', 'esx-62.lab.local']);
      await until('the first host is added', async () => ((await h.query(scaleOutProgressQuery)).steps[0]?.status === 'done' ? true : undefined), 30_000);
      await h.cancel();
      const { failure, report } = await rolledBack(h.result());
      expect(failure.message).toContain('the run was cancelled');
      expect(report.undone.map((u) => u.step)).toContain('add host esx-61.lab.local');
    } finally {
      await lab.vsphere!.clearFaults();
    }
    expect(await snapshot()).toEqual(before);
  });

  it('an unpinned host stops the run before any change and names its thumbprint; with approval it waits for `approve`', async () => {
    const before = await snapshot();
    const h = await env.client.workflow.start('addHosts', { taskQueue, workflowId: `add-hosts-test-${++n}`, args: [{ site: lab.site, cluster: 'DC0_C0', hosts: [{ name: 'esx-71.lab.local' }], skipBackup: true }] });
    const err = (await h.result().then(() => undefined, (e: unknown) => e)) as WorkflowFailedError;
    expect((err.cause as ApplicationFailure).type).toBe('ScaleOutPrecheckFailed');
    expect(err.cause!.message).toContain(`--host esx-71.lab.local=${await lab.vsphere!.thumbprint('esx-71.lab.local')}`);
    expect(await snapshot()).toEqual(before);

    const a = await env.client.workflow.start('addHosts', { taskQueue, workflowId: `add-hosts-test-${++n}`, args: [{ site: lab.site, cluster: 'DC0_C0', hosts: [{ name: 'esx-71.lab.local' }], skipBackup: true, requireApproval: true }] });
    await until('the plan awaits approval', async () => ((await a.query(scaleOutProgressQuery)).state === 'awaiting-approval' ? true : undefined), 30_000);
    expect((await a.query(scaleOutProgressQuery)).plan!.hosts[0]).toMatchObject({ name: 'esx-71.lab.local', source: 'discovered' });
    await expect(a.executeUpdate(approveUpdate, { args: [{ by: ' ' }] })).rejects.toThrow();
    expect(await snapshot()).toEqual(before);
    await a.executeUpdate(approveUpdate, { args: [{ by: 'ops-lead' }] });
    const r = (await a.result()) as AddHostsResult;
    expect(r).toMatchObject({ approvedBy: 'ops-lead', added: ['esx-71.lab.local'] });
    await runActivity(activities.removeHostFromCluster, { vcenter: lab.config.vcenter, host: 'esx-71.lab.local' });
    await runActivity(activities.setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha: PERCENT_POLICY });
    expect(await snapshot()).toEqual(before);
  });
});
