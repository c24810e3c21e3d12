import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as activities from '../../activities/index.js';
import { startWorkerEnv } from '../fixtures/temporal.js';
import { editLabConfig, setFaults, type TestLab } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { rolledBack } from '../fixtures/scale-out.js';
import { runActivity } from '../fixtures/activity.js';
import { scaleOutInventory } from '../../activities/scale-out/hosts.js';
import { approveUpdate, scaleOutProgressQuery, type AddHostsInput, type AddHostsResult } from '../../workflows/scale-out/add-hosts.js';
import type { AddClusterInput, AddClusterResult } from '../../workflows/scale-out/add-cluster.js';
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
const pin = (hosts: string[]) => Promise.all(hosts.map(async (name) => ({ name, thumbprint: await lab.vsphere!.thumbprint(name) })));
const start = async (hosts: string[], o: Partial<AddHostsInput> = {}) =>
  env.client.workflow.start('addHosts', { taskQueue, workflowId: `add-hosts-test-${++n}`, args: [{ site: lab.site, cluster: 'DC0_C0', hosts: await pin(hosts), skipBackup: true, ...o } satisfies AddHostsInput] });
const startCluster = async (name: string, hosts: string[]) =>
  env.client.workflow.start('addCluster', { taskQueue, workflowId: `add-cluster-test-${++n}`, args: [{ site: lab.site, name, hosts: await pin(hosts), skipBackup: true } satisfies AddClusterInput] });

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

  it('addCluster creates the cluster with its HA and DRS settings and adds its hosts', async () => {
    const before = await snapshot();
    const r = (await (await startCluster('C-new', ['esx-81.lab.local', 'esx-82.lab.local'])).result()) as AddClusterResult;
    expect(r.added).toEqual(['esx-81.lab.local', 'esx-82.lab.local']);
    const c = (await snapshot()).clusters.find((x) => x.name === 'C-new')!;
    expect(c.hosts).toEqual(['esx-81.lab.local', 'esx-82.lab.local']);
    expect(c.ha).toMatchObject({ enabled: true, admissionControlEnabled: true, policy: { kind: 'resources', cpuPercent: 50, memoryPercent: 50 } });
    await runActivity(activities.destroyClusterIfPresent, { vcenter: lab.config.vcenter, name: 'C-new' });
    expect(await snapshot()).toEqual(before);
  });

  // One table for both workflows: a fault at each step k leaves the inventory as it was, and the
  // report lists the compensations that ran (newest first).
  const HA_STEP = 'HA admission control: CPU 34% → 20%, memory 34% → 20%: 1 host failure(s) of 5 hosts';
  const cases: { workflow: 'addHosts' | 'addCluster'; step: string; faults: VsphereFaults; undone: string[] }[] = [
    { workflow: 'addHosts', step: 'add the first host', faults: { failMethod: { name: 'AddHost_Task', call: 1, fault: 'InvalidState' } }, undone: ['add host esx-51.lab.local'] },
    { workflow: 'addHosts', step: 'add the second host', faults: { hostConnectFault: ['esx-52.lab.local'] }, undone: ['add host esx-52.lab.local', 'add host esx-51.lab.local'] },
    { workflow: 'addHosts', step: 'rewrite the HA reservation', faults: { failMethod: { name: 'ReconfigureComputeResource_Task', call: 1, fault: 'InvalidState' } }, undone: [HA_STEP, 'add host esx-52.lab.local', 'add host esx-51.lab.local'] },
    { workflow: 'addCluster', step: 'create the cluster', faults: { failMethod: { name: 'CreateClusterEx', call: 1, fault: 'InvalidState' } }, undone: ['create cluster C-fail'] },
    { workflow: 'addCluster', step: 'add its first host', faults: { failMethod: { name: 'AddHost_Task', call: 1, fault: 'InvalidState' } }, undone: ['add host esx-51.lab.local', 'create cluster C-fail'] },
    { workflow: 'addCluster', step: 'add its second host', faults: { hostConnectFault: ['esx-52.lab.local'] }, undone: ['add host esx-52.lab.local', 'add host esx-51.lab.local', 'create cluster C-fail'] },
    // Every step passes, but a host lands disconnected: the post-check fails and everything is undone.
    { workflow: 'addHosts', step: 'the post-check', faults: { addDisconnected: ['esx-52.lab.local'] }, undone: [HA_STEP, 'add host esx-52.lab.local', 'add host esx-51.lab.local'] },
    { workflow: 'addCluster', step: 'the post-check', faults: { addDisconnected: ['esx-52.lab.local'] }, undone: ['add host esx-52.lab.local', 'add host esx-51.lab.local', 'create cluster C-fail'] },
  ];
  for (const c of cases) {
    it(`${c.workflow}: a fault when it comes to ${c.step} rolls everything back`, async () => {
      const before = await snapshot();
      await lab.vsphere!.setFaults(c.faults);
      try {
        const run = c.workflow === 'addHosts' ? await start(['esx-51.lab.local', 'esx-52.lab.local']) : await startCluster('C-fail', ['esx-51.lab.local', 'esx-52.lab.local']);
        const { failure, report } = await rolledBack(run.result());
        expect(report.undone.map((u) => u.step)).toEqual(c.undone);
        expect(report.failed).toEqual([]);
        expect(failure.message).toMatch(/rolled back \((vCenter|the run|post-check)/); // the step's own words, not "Activity task failed"
        if (c.step === 'the post-check') expect(failure.message).toContain('esx-52.lab.local is disconnected');
        const progress = await run.query(scaleOutProgressQuery);
        expect(progress.state).toBe('rolled-back');
        expect(progress.steps.filter((s) => s.status === 'undone').map((s) => s.name).sort()).toEqual([...c.undone].sort());
        // The run's page in the Web UI: the checklist with each undo, and the rollback section.
        const { currentDetails } = await run.query<{ currentDetails: string }>('__temporal_workflow_metadata');
        expect(currentDetails).toContain(`**Rollback** — ${c.undone.length} undone`);
        for (const u of report.undone) expect(currentDetails).toContain(`- ↺ ${u.undo}`);
        for (const step of c.undone) expect(currentDetails).toContain(`${step} — ↺ undone`);
      } finally {
        await lab.vsphere!.clearFaults();
      }
      expect(await snapshot()).toEqual(before);
    });
  }

  it('an undo that cannot be done is reported, with why, and the other undos still run', async () => {
    const before = await snapshot();
    // The second host fails to connect; then the removal of the first is refused by vCenter.
    await lab.vsphere!.setFaults({ hostConnectFault: ['esx-54.lab.local'], failMethod: { name: 'Destroy_Task', call: 1, fault: 'InvalidState' } });
    try {
      const h = await start(['esx-53.lab.local', 'esx-54.lab.local']);
      const { failure, report } = await rolledBack(h.result());
      expect(report.undone.map((u) => u.step)).toEqual(['add host esx-54.lab.local']);
      expect(report.failed).toEqual([{ step: 'add host esx-53.lab.local', undo: 'remove esx-53.lab.local (maintenance mode, disconnect, remove)', error: expect.stringMatching(/InvalidState|state/i) }]);
      expect(failure.message).toMatch(/NOT undone — fix by hand: remove esx-53\.lab\.local/);
      const progress = await h.query(scaleOutProgressQuery);
      expect(progress.steps.find((s) => s.name === 'add host esx-53.lab.local')).toMatchObject({ status: 'not-undone' });
      const { currentDetails } = await h.query<{ currentDetails: string }>('__temporal_workflow_metadata');
      expect(currentDetails).toMatch(/\*\*Rollback\*\* — 1 undone, 1 NOT undone: fix by hand[\s\S]*- ⚠ remove esx-53\.lab\.local/);
      // What the run could not undo is left as the report says: the first host, still in the cluster.
      expect((await snapshot()).hosts.find((x) => x.name === 'esx-53.lab.local')).toMatchObject({ cluster: 'DC0_C0' });
    } finally {
      await lab.vsphere!.clearFaults();
      await runActivity(activities.removeHostFromCluster, { vcenter: lab.config.vcenter, host: 'esx-53.lab.local' });
    }
    expect(await snapshot()).toEqual(before);
  });

  it('a cancel mid-run rolls back what was done', async () => {
    const before = await snapshot();
    await lab.vsphere!.setFaults({ taskDelayMs: 1500 });
    try {
      const h = await start(['esx-61.lab.local', 'esx-62.lab.local']);
      await until('the first host is added', async () => ((await h.query(scaleOutProgressQuery)).steps[0]?.status === 'done' ? true : undefined), 30_000);
      // The second host's task runs 6 s from here, so the cancel lands mid-step however slow this machine is.
      await lab.vsphere!.setFaults({ taskRunMs: 6000 });
      await h.cancel();
      await lab.vsphere!.clearFaults();
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
    expect((await a.query(scaleOutProgressQuery)).plan!.hosts![0]).toMatchObject({ name: 'esx-71.lab.local', source: 'discovered' });
    await expect(a.executeUpdate(approveUpdate, { args: [{ by: ' ' }] })).rejects.toThrow();
    expect(await snapshot()).toEqual(before);
    await a.executeUpdate(approveUpdate, { args: [{ by: 'ops-lead' }] });
    const r = (await a.result()) as AddHostsResult;
    expect(r).toMatchObject({ approvedBy: 'ops-lead', added: ['esx-71.lab.local'] });
    await runActivity(activities.removeHostFromCluster, { vcenter: lab.config.vcenter, host: 'esx-71.lab.local' });
    await runActivity(activities.setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha: PERCENT_POLICY });
    expect(await snapshot()).toEqual(before);
  });

  it('a pre-change backup that fails stops the run before any change, and says so', async () => {
    const before = await snapshot();
    await setFaults(lab.vcenter.url, { failJob: { message: 'Location is not accessible. Check the path and the permissions of the backup user.' } });
    try {
      const h = await start(['esx-75.lab.local'], { skipBackup: false });
      const err = (await h.result().then(() => undefined, (e: unknown) => e)) as WorkflowFailedError;
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const f = err.cause as ApplicationFailure;
      expect(f.type).toBe('PreChangeBackupFailed');
      expect(f.message).toMatch(/^nothing was changed: the pre-change backup of site grow failed \(.*Location is not accessible.*\); .*--skip-backup/);
      expect((await h.query(scaleOutProgressQuery)).steps.every((s) => s.status === 'pending')).toBe(true);
    } finally {
      await setFaults(lab.vcenter.url, {});
    }
    expect(await snapshot()).toEqual(before);
  });

  it('the run\'s page shows the plan and a checklist of steps with their undos while it waits for approval', async () => {
    const h = await start(['esx-76.lab.local'], { requireApproval: true });
    await until('the plan awaits approval', async () => ((await h.query(scaleOutProgressQuery)).state === 'awaiting-approval' ? true : undefined), 30_000);
    const { currentDetails } = await h.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(currentDetails).toContain('**Add 1 host(s) to cluster DC0_C0** — awaiting-approval');
    expect(currentDetails).toContain(`- \`esx-76.lab.local\` thumbprint \`${await lab.vsphere!.thumbprint('esx-76.lab.local')}\` (pinned)`);
    expect(currentDetails).toMatch(/\*\*HA admission control\*\*: CPU 34% → 25%/);
    expect(currentDetails).toContain('- [ ] add host esx-76.lab.local — pending _(undo: remove esx-76.lab.local (maintenance mode, disconnect, remove))_');
    await h.terminate('test done');
  });
});
