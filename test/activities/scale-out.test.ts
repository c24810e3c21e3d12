import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { runActivity as run } from '../fixtures/activity.js';
import { startTestLab, type TestLab } from '../fixtures/lab.js';
import { addHostToCluster, precheckAddHosts, removeHostFromCluster, scaleOutInventory, setClusterHa } from '../../activities/scale-out/hosts.js';
import { planHa } from '../../src/domain/ha-admission.js';

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
});
