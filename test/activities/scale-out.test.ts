import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { runActivity as run } from '../fixtures/activity.js';
import { startTestLab, type TestLab } from '../fixtures/lab.js';
import { addHostToCluster, precheckAddHosts, removeHostFromCluster, scaleOutInventory, setClusterHa } from '../../activities/scale-out/hosts.js';
import { planHa } from '../../src/domain/ha-admission.js';
import { VsphereClient } from '../../src/providers/vsphere/client.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { hostConnectSpec, toMoRef } from '../../src/providers/vsphere/xml.js';

let lab: TestLab;
const scaleOut = { hostUser: 'root', hostPassword: 'env:SDDC_TEST_ESXI_PASSWORD' };
process.env.SDDC_TEST_ESXI_PASSWORD = 'lab-esxi-password';

beforeAll(async () => {
  lab = await startTestLab({ site: 'grow' });
});
afterAll(async () => lab?.dispose());

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}
const inventory = () => run(scaleOutInventory, { vcenter: lab.config.vcenter });
/** What a rollback must restore: clusters, their hosts and HA settings, and each host's state (not object ids). */
const snapshot = async () => {
  const inv = await inventory();
  return { clusters: inv.clusters.map(({ ref: _r, ...c }) => c), hosts: inv.hosts.map(({ ref: _r, ...h }) => h) };
};

describe('scale-out activities against the lab vCenter (SOAP)', () => {
  it('pre-check changes nothing and refuses a missing cluster, a host already there, a name given twice', async () => {
    const before = await snapshot();
    const base = { vcenter: lab.config.vcenter, scaleOut, cluster: 'DC0_C0' };
    const existing = before.clusters[0]!.hosts[0]!;
    const f = await failureOf(run(precheckAddHosts, { ...base, cluster: 'nope', hosts: [{ name: 'esx-31.lab.local' }] }));
    expect(f.type).toBe('ScaleOutPrecheckFailed');
    expect(f.message).toMatch(/nothing was changed: no cluster nope in vCenter \(clusters: DC0_C0\)/);
    expect((await failureOf(run(precheckAddHosts, { ...base, hosts: [{ name: existing }] }))).message).toContain(`host ${existing} is already in vCenter's inventory (cluster DC0_C0)`);
    expect((await failureOf(run(precheckAddHosts, { ...base, hosts: [{ name: 'esx-31.lab.local' }, { name: 'ESX-31.lab.local' }] }))).message).toContain('is listed twice');
    expect(await snapshot()).toEqual(before);
  });

  it('pre-check asks vCenter for the thumbprints not pinned, and keeps the pinned ones', async () => {
    const before = await snapshot();
    const p = await run(precheckAddHosts, { vcenter: lab.config.vcenter, scaleOut, cluster: 'DC0_C0', hosts: [{ name: 'esx-31.lab.local' }, { name: 'esx-32.lab.local', thumbprint: 'aa:bb' }] });
    expect(p.hosts).toEqual([
      { name: 'esx-31.lab.local', thumbprint: await lab.vsphere!.thumbprint('esx-31.lab.local'), source: 'discovered' },
      { name: 'esx-32.lab.local', thumbprint: 'AA:BB', source: 'pinned' },
    ]);
    expect(p.hostsBefore).toBe(before.clusters[0]!.hosts.length);
    expect(await snapshot()).toEqual(before);
  });

  it('adds a host once (a retry finds it there), removes it once, and the inventory is as before', async () => {
    const before = await snapshot();
    const add = { vcenter: lab.config.vcenter, scaleOut, cluster: 'DC0_C0', host: 'esx-33.lab.local', thumbprint: await lab.vsphere!.thumbprint('esx-33.lab.local') };
    expect(await run(addHostToCluster, add)).toEqual({ how: 'added' });
    expect(await run(addHostToCluster, add)).toEqual({ how: 'already-there' });
    const grown = await snapshot();
    expect(grown.clusters[0]!.hosts).toEqual([...before.clusters[0]!.hosts, 'esx-33.lab.local'].sort());
    expect(grown.hosts.find((h) => h.name === 'esx-33.lab.local')).toMatchObject({ cluster: 'DC0_C0', connectionState: 'connected', inMaintenanceMode: false });
    expect(await run(removeHostFromCluster, { vcenter: lab.config.vcenter, host: 'esx-33.lab.local' })).toEqual({ how: 'removed' });
    expect(await run(removeHostFromCluster, { vcenter: lab.config.vcenter, host: 'esx-33.lab.local' })).toEqual({ how: 'absent' });
    expect(await snapshot()).toEqual(before);
  });

  it('a wrong thumbprint is HostThumbprintMismatch, naming the one to pin; nothing is added', async () => {
    const before = await snapshot();
    const f = await failureOf(run(addHostToCluster, { vcenter: lab.config.vcenter, scaleOut, cluster: 'DC0_C0', host: 'esx-34.lab.local', thumbprint: '00:11:22' }));
    expect(f.type).toBe('HostThumbprintMismatch');
    expect(f.message).toContain(`--host esx-34.lab.local=${await lab.vsphere!.thumbprint('esx-34.lab.local')}`);
    expect(await snapshot()).toEqual(before);
  });

  it('rewrites the HA reservation for the new host count and restores the old settings field for field', async () => {
    const before = await snapshot();
    const ha = { enabled: true, admissionControlEnabled: true, failoverLevel: 1, policy: { kind: 'resources' as const, cpuPercent: 34, memoryPercent: 34, failoverLevel: 1, autoCompute: false } };
    await run(setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha });
    const set = await snapshot();
    expect(set.clusters[0]!.ha).toEqual(ha);
    const plan = planHa(ha, 5);
    await run(setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha: plan.after });
    expect((await snapshot()).clusters[0]!.ha.policy).toEqual({ ...ha.policy, cpuPercent: 20, memoryPercent: 20 });
    await run(setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha: plan.before });
    expect(await snapshot()).toEqual(set);
    expect(before.clusters[0]!.name).toBe('DC0_C0');
  });

  describe('an attempt whose worker died mid-task (the vCenter task goes on)', () => {
    /** What a killed worker leaves: an AddHost_Task started, still running, and no one waiting for it. */
    async function orphanedAdd(host: string) {
      const c = new VsphereClient({ url: lab.config.vcenter.url, user: lab.config.vcenter.user, password: await resolveSecret(lab.config.vcenter.password), caFile: lab.config.vcenter.caFile });
      await c.login();
      const cluster = (await inventory()).clusters.find((x) => x.name === 'DC0_C0')!.ref;
      const spec = hostConnectSpec({ hostName: host, port: 443, sslThumbprint: await lab.vsphere!.thumbprint(host), userName: 'root', password: 'x' });
      const task = toMoRef((await c.call('AddHost_Task', cluster, [['spec', spec], ['asConnected', true]])).returnval);
      return { c, task };
    }
    const named = async (host: string) => (await inventory()).hosts.filter((h) => h.name === host).length;

    it('a retry that never saw the task (no heartbeat) waits for the add in flight, and adds no second host', async () => {
      await lab.vsphere!.setFaults({ taskRunMs: 2500 });
      try {
        const { c } = await orphanedAdd('esx-35.lab.local');
        expect(await named('esx-35.lab.local'), 'the add has not landed yet').toBe(0);
        const add = { vcenter: lab.config.vcenter, scaleOut, cluster: 'DC0_C0', host: 'esx-35.lab.local', thumbprint: await lab.vsphere!.thumbprint('esx-35.lab.local') };
        expect(await new MockActivityEnvironment({ attempt: 2 }).run(addHostToCluster, add)).toEqual({ how: 'already-there' });
        expect(await named('esx-35.lab.local')).toBe(1);
        await c.logout();
      } finally {
        await lab.vsphere!.clearFaults();
        await run(removeHostFromCluster, { vcenter: lab.config.vcenter, host: 'esx-35.lab.local' });
      }
    });

    it('a retry waits for the task its previous attempt heartbeated before it looks', async () => {
      await lab.vsphere!.setFaults({ taskRunMs: 2500 });
      try {
        const { c, task } = await orphanedAdd('esx-36.lab.local');
        const env = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { task: task.value, method: 'AddHost_Task' } });
        const inv = (await env.run(scaleOutInventory, { vcenter: lab.config.vcenter })) as Awaited<ReturnType<typeof scaleOutInventory>>;
        expect(inv.hosts.filter((h) => h.name === 'esx-36.lab.local'), 'the inventory read after the task landed').toHaveLength(1);
        await c.logout();
      } finally {
        await lab.vsphere!.clearFaults();
        await run(removeHostFromCluster, { vcenter: lab.config.vcenter, host: 'esx-36.lab.local' });
      }
    });

    it('the task in flight is heartbeated, so that a retry can find it', async () => {
      const env = new MockActivityEnvironment();
      const beats: unknown[] = [];
      env.on('heartbeat', (d: unknown) => beats.push(d));
      const add = { vcenter: lab.config.vcenter, scaleOut, cluster: 'DC0_C0', host: 'esx-37.lab.local', thumbprint: await lab.vsphere!.thumbprint('esx-37.lab.local') };
      try {
        expect(await env.run(addHostToCluster, add)).toEqual({ how: 'added' });
        expect(beats[0]).toMatchObject({ method: 'AddHost_Task', task: expect.any(String) });
      } finally {
        await run(removeHostFromCluster, { vcenter: lab.config.vcenter, host: 'esx-37.lab.local' });
      }
    });
  });
});
