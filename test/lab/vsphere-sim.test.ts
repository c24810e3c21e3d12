import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLab, type TestLab } from '../fixtures/lab.js';
import { SoapSession } from '../fixtures/soap.js';
import { resolveSecret } from '../../src/config/secrets.js';

let lab: TestLab;
let soap: SoapSession;
const cluster = (ref: string) => ({ type: 'ClusterComputeResource', value: ref });
const hostSpec = (hostName: string, sslThumbprint?: string) => ({ spec: { hostName, port: 443, ...(sslThumbprint ? { sslThumbprint } : {}), userName: 'root', password: 'lab', force: false }, asConnected: true });

beforeAll(async () => {
  lab = await startTestLab({ site: 'soap' });
  // Through the lab vCenter's own URL: one vCenter serves /api (appliance) and /sdk (SOAP).
  soap = new SoapSession(`${lab.config.vcenter.url.replace(/\/$/, '')}/sdk`);
  const r = await soap.login(lab.config.vcenter.user, await resolveSecret(lab.config.vcenter.password));
  expect(r.fault).toBeUndefined();
});
afterAll(async () => lab?.dispose());

async function clusterRef(name: string): Promise<string> {
  const c = (await soap.objects('ClusterComputeResource', ['name'])).find((o) => o.props.name === name || o.props.name?.['#text'] === name);
  if (!c) throw new Error(`no cluster ${name}`);
  return c.ref;
}
const hostsOf = async (ref: string) => {
  const c = (await soap.objects('ClusterComputeResource', ['host'])).find((o) => o.ref === ref)!;
  return c.props.host?.ManagedObjectReference ?? [];
};

describe('the lab vCenter speaks SOAP (govmomi simulator with the lab additions)', () => {
  it('refuses a wrong login', async () => {
    const other = new SoapSession(`${lab.config.vcenter.url.replace(/\/$/, '')}/sdk`);
    expect((await other.login(lab.config.vcenter.user, 'wrong')).fault?.type).toBe('InvalidLogin');
  });

  it('AddHost_Task without the host thumbprint fails with SSLVerifyFault carrying it; with it the host joins the cluster', async () => {
    const c = await clusterRef('DC0_C0');
    const before = (await hostsOf(c)).length;
    const refused = await soap.call('AddHost_Task', cluster(c), hostSpec('esx-11.lab.local'));
    const thumbprint = await lab.vsphere!.thumbprint('esx-11.lab.local');
    expect(refused.fault?.type).toBe('SSLVerifyFault');
    expect(refused.fault?.detail.thumbprint).toBe(thumbprint);
    expect((await soap.call('AddHost_Task', cluster(c), hostSpec('esx-11.lab.local', '00:11'))).fault?.type).toBe('SSLVerifyFault');
    const added = await soap.call('AddHost_Task', cluster(c), hostSpec('esx-11.lab.local', thumbprint));
    expect(await soap.task(added.body.returnval['#text'])).toEqual({ state: 'success' });
    expect(await hostsOf(c)).toHaveLength(before + 1);
  });

  it('stores the HA admission-control policy, which reads back through the property collector', async () => {
    const c = await clusterRef('DC0_C0');
    const r = await soap.call('ReconfigureComputeResource_Task', cluster(c), {
      spec: {
        '@_xsi:type': 'ClusterConfigSpecEx',
        dasConfig: {
          enabled: true,
          admissionControlEnabled: true,
          failoverLevel: 1,
          admissionControlPolicy: { '@_xsi:type': 'ClusterFailoverResourcesAdmissionControlPolicy', cpuFailoverResourcesPercent: 25, memoryFailoverResourcesPercent: 25, failoverLevel: 1, autoComputePercentages: false },
        },
      },
      modify: true,
    });
    expect(await soap.task(r.body.returnval['#text'])).toEqual({ state: 'success' });
    const cfg = (await soap.objects('ClusterComputeResource', ['configurationEx'])).find((o) => o.ref === c)!.props.configurationEx;
    expect(cfg.dasConfig.admissionControlPolicy).toMatchObject({ '@_type': 'ClusterFailoverResourcesAdmissionControlPolicy', cpuFailoverResourcesPercent: 25, memoryFailoverResourcesPercent: 25 });
  });

  it('injects faults: the Nth call of a method, and HostConnectFault for a named host', async () => {
    const c = await clusterRef('DC0_C0');
    const tp = await lab.vsphere!.thumbprint('esx-12.lab.local');
    await lab.vsphere!.setFaults({ failMethod: { name: 'AddHost_Task', call: 1 }, hostConnectFault: ['esx-13.lab.local'] });
    try {
      expect((await soap.call('AddHost_Task', cluster(c), hostSpec('esx-12.lab.local', tp))).fault?.type).toBe('SystemError');
      const second = await soap.call('AddHost_Task', cluster(c), hostSpec('esx-12.lab.local', tp));
      expect(await soap.task(second.body.returnval['#text'])).toEqual({ state: 'success' });
      const refused = await soap.call('AddHost_Task', cluster(c), hostSpec('esx-13.lab.local', await lab.vsphere!.thumbprint('esx-13.lab.local')));
      expect(refused.fault?.type).toBe('HostConnectFault');
    } finally {
      await lab.vsphere!.clearFaults();
    }
  });

  it('CreateClusterEx keeps the HA settings of its spec, and Destroy_Task removes a cluster', async () => {
    const folder = (await soap.objects('Datacenter', ['hostFolder']))[0]!.props.hostFolder['#text'];
    const created = await soap.call('CreateClusterEx', { type: 'Folder', value: folder }, {
      name: 'C-new',
      spec: { dasConfig: { enabled: true, admissionControlEnabled: true, failoverLevel: 2, admissionControlPolicy: { '@_xsi:type': 'ClusterFailoverLevelAdmissionControlPolicy', failoverLevel: 2 } }, drsConfig: { enabled: true } },
    });
    expect(created.fault).toBeUndefined();
    const ref = created.body.returnval['#text'];
    const cfg = (await soap.objects('ClusterComputeResource', ['configurationEx'])).find((o) => o.ref === ref)!.props.configurationEx;
    expect(cfg.dasConfig).toMatchObject({ failoverLevel: 2, admissionControlPolicy: { '@_type': 'ClusterFailoverLevelAdmissionControlPolicy', failoverLevel: 2 } });
    const destroyed = await soap.call('Destroy_Task', cluster(ref));
    expect(await soap.task(destroyed.body.returnval['#text'])).toEqual({ state: 'success' });
    expect((await soap.objects('ClusterComputeResource', ['name'])).map((o) => o.ref)).not.toContain(ref);
  });
});
