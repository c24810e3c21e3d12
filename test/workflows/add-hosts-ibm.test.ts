import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as activities from '../../activities/index.js';
import { startWorkerEnv } from '../fixtures/temporal.js';
import { labFetch, editLabConfig, type TestLab } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { approveWhenAsked, rolledBack } from '../fixtures/scale-out.js';
import { runActivity } from '../fixtures/activity.js';
import { scaleOutInventory } from '../../activities/scale-out/hosts.js';
import { approveUpdate, scaleOutProgressQuery } from '../../workflows/scale-out/common.js';
import type { AddHostsInput, AddHostsResult } from '../../workflows/scale-out/add-hosts.js';
import type { AddClusterInput, AddClusterResult } from '../../workflows/scale-out/add-cluster.js';
import type { VsphereFaults } from '../../src/lab/vsphere.js';
import type { VsFaults } from '../../src/lab/vmware-solutions.js';
import { loadConfig } from '../../src/config/load.js';
import { iamFor } from '../../activities/endpoints.js';
import { VmwareSolutionsClient } from '../../src/providers/ibm/vmware-solutions.js';
import { failureText } from '../fixtures/codec.js';

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
const taskQueue = 'add-hosts-ibm-test';
const PERCENT_POLICY = { enabled: true, admissionControlEnabled: true, failoverLevel: 1, policy: { kind: 'resources' as const, cpuPercent: 34, memoryPercent: 34, failoverLevel: 1, autoCompute: false } };

beforeAll(async () => {
  ({ env, lab, stop } = await startWorkerEnv({ site: 'order', taskQueue, activities }));
  editLabConfig(lab.configPath, (doc) => (doc.sites[lab.site]!.capacity = { provider: 'ibm-vmware-solutions', instanceId: lab.vmwareSolutions!.instanceId }));
  lab.vmwareSolutions!.setFaults({ orderMs: 400 });
  await runActivity(activities.setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha: PERCENT_POLICY });
});
afterAll(async () => stop?.());

const ibm = () => loadConfig(lab.configPath).config.ibmCloud!;
const vs = async () => new VmwareSolutionsClient({ url: ibm().vmwareSolutionsUrl, iam: await iamFor(ibm()), caFile: ibm().caFile });
/** vCenter (through SOAP) and IBM's inventory of the cluster: what a rollback must restore. */
const snapshot = async () => {
  const inv = await runActivity(scaleOutInventory, { vcenter: lab.config.vcenter });
  const ibmHosts = (await (await vs()).getCluster(lab.vmwareSolutions!.instanceId, '0')).hosts.map((h) => `${h.name.hostname}:${h.state}`).sort();
  return { clusters: inv.clusters.map(({ ref: _r, ...c }) => c), hosts: inv.hosts.map(({ ref: _r, ...h }) => h), ibmHosts };
};
const orders = async () => (await (await labFetch(`${ibm().vmwareSolutionsUrl}/lab/orders`)).json()) as { kind: string; hosts: string[]; price?: string; verifyOnly: boolean }[];

let n = 0;
const start = (hosts: string[], o: Partial<AddHostsInput> = {}) =>
  env.client.workflow.start('addHosts', { taskQueue, workflowId: `add-hosts-ibm-${++n}`, args: [{ site: lab.site, cluster: 'DC0_C0', hosts: hosts.map((name) => ({ name })), skipBackup: true, ...o } satisfies AddHostsInput] });
/** Takes ordered hosts back out (through IBM, as the rollback does) and restores the HA settings. */
async function giveBack(names: string[]) {
  const t = { ibm: ibm(), instanceId: lab.vmwareSolutions!.instanceId, cluster: 'DC0_C0', clusterId: '0', hostNames: names };
  await runActivity(activities.removeIbmHosts, t);
  await until('the hosts to be gone', () => runActivity(activities.awaitIbmOrder, { ...t, want: 'absent' }).then(() => true, () => undefined), 30_000);
  await runActivity(activities.setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha: PERCENT_POLICY });
}

describe('addHosts through IBM Cloud for VMware Solutions', () => {
  it('orders the hosts at the price approved, IBM joins them to vCenter, then the HA reservation is rebalanced', async () => {
    const before = await snapshot();
    const h = await start(['esx-201.lab.local', 'esx-202.lab.local']);
    await until('the plan', async () => ((await h.query(scaleOutProgressQuery)).state === 'awaiting-approval' ? true : undefined), 30_000);
    const plan = (await h.query(scaleOutProgressQuery)).plan!;
    expect(plan.order).toEqual({ provider: 'ibm-vmware-solutions', instance: 'lab', price: { total_monthly: '5780.80', currency: 'USD' } });
    expect(plan.approvalNeeded).toBe('an order from IBM Cloud: 5780.80 USD a month');
    expect(plan.hosts!.map((x) => x.source)).toEqual(['ordered', 'ordered']);
    expect(await snapshot(), 'nothing is ordered before the approval').toEqual(before);
    await h.executeUpdate(approveUpdate, { args: [{ by: 'capacity-owner' }] });
    const r = (await h.result()) as AddHostsResult;
    expect(r).toMatchObject({ status: 'complete', added: ['esx-201.lab.local', 'esx-202.lab.local'], approvedBy: 'capacity-owner', order: { price: { total_monthly: '5780.80' } } });
    const placed = (await orders()).filter((o) => o.kind === 'hosts' && !o.verifyOnly);
    expect(placed.at(-1)).toMatchObject({ hosts: ['esx-201', 'esx-202'], price: plan.order!.price!.total_monthly });
    const after = await snapshot();
    expect(after.clusters.find((c) => c.name === 'DC0_C0')!.ha.policy).toMatchObject({ cpuPercent: 20, memoryPercent: 20 });
    for (const name of r.added) expect(after.hosts.find((x) => x.name === name)).toMatchObject({ cluster: 'DC0_C0', connectionState: 'connected', inMaintenanceMode: false });
    expect(after.ibmHosts).toEqual(['esx-201:Available', 'esx-202:Available']);
    await giveBack(['esx-201', 'esx-202']);
    expect(await snapshot()).toEqual(before);
  });

  it('an instance busy with another change: the order waits, says so, and goes through', async () => {
    const before = await snapshot();
    lab.vmwareSolutions!.setFaults({ busyMs: 2500 });
    const h = await start(['esx-211.lab.local']);
    await approveWhenAsked(h);
    await h.result();
    const retries = (await h.fetchHistory()).events!.filter((e) => e.activityTaskStartedEventAttributes?.lastFailure);
    const started = (await Promise.all(retries.map((e) => failureText(env.client, e.activityTaskStartedEventAttributes!.lastFailure)))).filter((m) => m.includes('the instance is changing'));
    expect(started.length, 'a retry of the order carries the refusal it waited out').toBeGreaterThan(0);
    await giveBack(['esx-211']);
    expect(await snapshot()).toEqual(before);
  });

  // One table: a fault at each step leaves vCenter and IBM's inventory as they were.
  const ORDER = 'order 2 host(s) from IBM Cloud for DC0_C0 (esx-221, esx-222) and wait until they join vCenter';
  const HA = 'HA admission control: CPU 34% → 20%, memory 34% → 20%: 1 host failure(s) of 5 hosts';
  const cases: { step: string; ibm?: VsFaults; soap?: VsphereFaults; says: RegExp; undone: string[] }[] = [
    { step: 'the order (IBM fails it)', ibm: { failOrder: 'Hardware is not available in tok02.' }, says: /ended without esx-221, esx-222; IBM says: .*Hardware is not available/, undone: [ORDER] },
    { step: 'the join (IBM reports Available, vCenter never sees them)', ibm: { skipJoin: true }, says: /did not join vCenter cluster DC0_C0/, undone: [ORDER] },
    { step: 'the HA reservation', soap: { failMethod: { name: 'ReconfigureComputeResource_Task', call: 1, fault: 'InvalidState' } }, says: /rolled back/, undone: [HA, ORDER] },
    { step: 'the post-check (a host joined disconnected)', soap: { addDisconnected: ['esx-222.lab.local'] }, says: /esx-222\.lab\.local is disconnected/, undone: [HA, ORDER] },
  ];
  for (const c of cases) {
    it(`a fault at ${c.step} gives the ordered hosts back through IBM`, async () => {
      const before = await snapshot();
      if (c.ibm) lab.vmwareSolutions!.setFaults(c.ibm);
      if (c.soap) await lab.vsphere!.setFaults(c.soap);
      try {
        const h = await start(['esx-221.lab.local', 'esx-222.lab.local']);
        await approveWhenAsked(h);
        const { failure, report } = await rolledBack(h.result());
        expect(failure.message).toMatch(c.says);
        expect(report.undone.map((u) => u.step)).toEqual(c.undone);
        expect(report.failed).toEqual([]);
      } finally {
        await lab.vsphere!.clearFaults();
        lab.vmwareSolutions!.setFaults({ failOrder: undefined, skipJoin: undefined });
      }
      expect(await snapshot()).toEqual(before);
    });
  }

  it('a cancel while IBM works on the order removes what it ordered', async () => {
    const before = await snapshot();
    lab.vmwareSolutions!.setFaults({ orderMs: 3000 });
    try {
      const h = await start(['esx-231.lab.local']);
      await approveWhenAsked(h);
      await until('the order to be placed', async () => ((await orders()).some((o) => !o.verifyOnly && o.hosts.includes('esx-231')) ? true : undefined), 30_000);
      await h.cancel();
      const { failure, report } = await rolledBack(h.result());
      expect(failure.message).toContain('the run was cancelled');
      expect(report.undone.map((u) => u.undo)).toEqual(['remove esx-231 through IBM Cloud, and wait until they are gone']);
    } finally {
      lab.vmwareSolutions!.setFaults({ orderMs: 400 });
    }
    expect((await orders()).filter((o) => o.kind === 'remove-hosts').at(-1)).toMatchObject({ hosts: ['esx-231'] });
    expect(await snapshot()).toEqual(before);
  });

  it('a host outside the instance\'s domain, or one IBM already has, is refused before anything is ordered', async () => {
    const before = await snapshot();
    const placed = (await orders()).length;
    const err = (await (await start(['esx-241.elsewhere.example'])).result().then(() => undefined, (e: unknown) => e)) as WorkflowFailedError;
    expect((err.cause as ApplicationFailure).type).toBe('ScaleOutPrecheckFailed');
    expect(err.cause!.message).toMatch(/host esx-241\.elsewhere\.example is not in the instance's domain lab\.local/);
    expect((await orders()).length, 'not even a verify-only order').toBe(placed);
    expect(await snapshot()).toEqual(before);
  });

  describe('addCluster through IBM', () => {
    const startCluster = (name: string, o: Partial<AddClusterInput> = {}) =>
      env.client.workflow.start('addCluster', { taskQueue, workflowId: `add-cluster-ibm-${++n}`, args: [{ site: lab.site, name, hosts: [], hostCount: 2, skipBackup: true, ...o } satisfies AddClusterInput] });
    const ibmClusters = async () => (await (await vs()).listClusters(lab.vmwareSolutions!.instanceId)).map((c) => c.name).sort();
    const t = (name: string) => ({ ibm: ibm(), instanceId: lab.vmwareSolutions!.instanceId, name });

    it('orders the cluster at the approved price; IBM builds it and joins its hosts; the run sets its HA reservation', async () => {
      const before = await snapshot();
      const h = await startCluster('C-ibm');
      await until('the plan', async () => ((await h.query(scaleOutProgressQuery)).state === 'awaiting-approval' ? true : undefined), 30_000);
      expect((await h.query(scaleOutProgressQuery)).plan!.order!.price).toEqual({ total_monthly: '5780.80', currency: 'USD' });
      await h.executeUpdate(approveUpdate, { args: [{ by: 'capacity-owner' }] });
      const r = (await h.result()) as AddClusterResult;
      expect(r.added).toHaveLength(2);
      const c = (await snapshot()).clusters.find((x) => x.name === 'C-ibm')!;
      expect(c.hosts).toEqual([...r.added].sort());
      expect(c.ha).toMatchObject({ enabled: true, policy: { kind: 'resources', cpuPercent: 50, memoryPercent: 50 } });
      expect(await ibmClusters()).toContain('C-ibm');
      await runActivity(activities.deleteIbmCluster, t('C-ibm'));
      await until('IBM deletes the cluster', () => runActivity(activities.awaitIbmCluster, { ...t('C-ibm'), want: 'absent' }).then(() => true, () => undefined), 30_000);
      expect(await snapshot()).toEqual(before);
    });

    it('a fault after the order (the HA step) deletes the cluster through IBM; host names are refused for an IBM cluster', async () => {
      const before = await snapshot();
      await lab.vsphere!.setFaults({ failMethod: { name: 'ReconfigureComputeResource_Task', call: 1, fault: 'InvalidState' } });
      try {
        const h = await startCluster('C-ibm2');
        await approveWhenAsked(h);
        const { report } = await rolledBack(h.result());
        expect(report.undone.map((u) => u.undo)).toEqual(['delete cluster C-ibm2 through IBM Cloud, and wait until it is gone']);
      } finally {
        await lab.vsphere!.clearFaults();
      }
      expect(await ibmClusters()).not.toContain('C-ibm2');
      expect(await snapshot()).toEqual(before);
      const named = (await (await startCluster('C-ibm3', { hosts: [{ name: 'esx-9.lab.local' }] })).result().then(() => undefined, (e: unknown) => e)) as WorkflowFailedError;
      expect(named.cause!.message).toMatch(/give --host-count N instead of --host/);
    });
  });
});
