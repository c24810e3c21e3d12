import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLab, type TestLab } from '../fixtures/lab.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { VsphereClient } from '../../src/providers/vsphere/client.js';
import { DuplicateNameError, HostConnectFaultError, InvalidLoginError, SslVerifyFaultError } from '../../src/providers/vsphere/errors.js';
import { text } from '../../src/providers/vsphere/xml.js';
import type { MoRef } from '../../src/providers/vsphere/types.js';

let lab: TestLab;
let vc: VsphereClient;
let password: string;

beforeAll(async () => {
  lab = await startTestLab({ site: 'vsphere' });
  password = await resolveSecret(lab.config.vcenter.password);
  vc = new VsphereClient({ url: lab.config.vcenter.url, user: lab.config.vcenter.user, password, caFile: lab.config.vcenter.caFile });
  await vc.login();
});
afterAll(async () => {
  await vc?.logout();
  await lab?.dispose();
});

async function clusterNamed(name: string): Promise<{ ref: MoRef; hosts: MoRef[] }> {
  const c = (await vc.retrieve([{ type: 'ClusterComputeResource', paths: ['name', 'host'] }])).find((o) => text(o.props.name) === name)!;
  const hosts = ((c.props.host as { ManagedObjectReference?: { '@_type': string; '#text': string }[] })?.ManagedObjectReference ?? []).map((h) => ({ type: h['@_type'], value: h['#text'] }));
  return { ref: c.ref, hosts };
}

describe('vSphere SOAP client against the lab vCenter (/sdk)', () => {
  it('a wrong password is InvalidLogin, with what to check', async () => {
    const bad = new VsphereClient({ url: lab.config.vcenter.url, user: lab.config.vcenter.user, password: 'wrong', caFile: lab.config.vcenter.caFile });
    await expect(bad.login()).rejects.toBeInstanceOf(InvalidLoginError);
  });

  it('adds a host once its thumbprint is pinned: SSLVerifyFault names the thumbprint first', async () => {
    const { ref, hosts } = await clusterNamed('DC0_C0');
    const spec = { hostName: 'esx-21.lab.local', port: 443, userName: 'root', password: 'lab' };
    const err = await vc.addHost(ref, spec).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SslVerifyFaultError);
    const thumbprint = (err as SslVerifyFaultError).thumbprint!;
    expect(thumbprint).toBe(await lab.vsphere!.thumbprint('esx-21.lab.local'));
    expect((await vc.addHost(ref, { ...spec, sslThumbprint: thumbprint })).state).toBe('success');
    expect((await clusterNamed('DC0_C0')).hosts).toHaveLength(hosts.length + 1);
  });

  it('HostConnectFault for a host vCenter cannot reach', async () => {
    const { ref } = await clusterNamed('DC0_C0');
    await lab.vsphere!.setFaults({ hostConnectFault: ['esx-22.lab.local'] });
    try {
      const tp = await lab.vsphere!.thumbprint('esx-22.lab.local');
      await expect(vc.addHost(ref, { hostName: 'esx-22.lab.local', sslThumbprint: tp, userName: 'root', password: 'x' })).rejects.toBeInstanceOf(HostConnectFaultError);
    } finally {
      await lab.vsphere!.clearFaults();
    }
  });

  it('removes a host: maintenance mode, disconnect, destroy', async () => {
    const { ref, hosts } = await clusterNamed('DC0_C0');
    const victim = hosts.at(-1)!;
    expect((await vc.enterMaintenanceMode(victim)).state).toBe('success');
    expect(text((await vc.properties(victim, ['runtime.inMaintenanceMode']))['runtime.inMaintenanceMode'])).toBe('true');
    expect((await vc.disconnectHost(victim)).state).toBe('success');
    expect((await vc.destroy(victim)).state).toBe('success');
    expect((await clusterNamed('DC0_C0')).hosts.map((h) => h.value)).not.toContain(victim.value);
    expect(ref.type).toBe('ClusterComputeResource');
  });

  it('creates a cluster with its HA policy, refuses a duplicate name, reconfigures HA and destroys it', async () => {
    const dc = (await vc.retrieve([{ type: 'Datacenter', paths: ['hostFolder'] }]))[0]!;
    const folder = { type: 'Folder', value: text(dc.props.hostFolder)! };
    const spec = { dasConfig: { enabled: true, admissionControlEnabled: true, failoverLevel: 1, admissionControlPolicy: { type: 'ClusterFailoverResourcesAdmissionControlPolicy' as const, cpuFailoverResourcesPercent: 50, memoryFailoverResourcesPercent: 50, failoverLevel: 1, autoComputePercentages: false } } };
    const c = await vc.createCluster(folder, 'C-client', spec);
    await expect(vc.createCluster(folder, 'C-client', spec)).rejects.toBeInstanceOf(DuplicateNameError);
    await vc.reconfigureCluster(c, { dasConfig: { admissionControlPolicy: { ...spec.dasConfig.admissionControlPolicy, cpuFailoverResourcesPercent: 34, memoryFailoverResourcesPercent: 34 } } });
    const das = ((await vc.properties(c, ['configurationEx']))['configurationEx'] as { dasConfig: { admissionControlPolicy: Record<string, unknown> } }).dasConfig;
    expect(das.admissionControlPolicy).toMatchObject({ '@_type': 'ClusterFailoverResourcesAdmissionControlPolicy', cpuFailoverResourcesPercent: '34', memoryFailoverResourcesPercent: '34' });
    expect((await vc.destroy(c)).state).toBe('success');
    expect((await vc.retrieve([{ type: 'ClusterComputeResource', paths: ['name'] }])).map((o) => text(o.props.name))).not.toContain('C-client');
  });

  it('logs in again once when the session is gone', async () => {
    const dc = (await vc.retrieve([{ type: 'Datacenter', paths: ['hostFolder'] }]))[0]!;
    await vc.logout(); // the server forgets the session; the client keeps going
    const c = await vc.createCluster({ type: 'Folder', value: text(dc.props.hostFolder)! }, 'C-relogin', {});
    expect((await vc.destroy(c)).state).toBe('success');
  });

  it('refuses to remove a host that is connected and not in maintenance mode (InvalidState)', async () => {
    const { hosts } = await clusterNamed('DC0_C0');
    await expect(vc.destroy(hosts[0]!)).rejects.toMatchObject({ faultType: 'InvalidState' });
    expect((await clusterNamed('DC0_C0')).hosts.map((h) => h.value)).toContain(hosts[0]!.value);
  });
});
