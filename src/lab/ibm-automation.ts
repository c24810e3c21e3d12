import { VsphereClient } from '../providers/vsphere/client.js';
import { text } from '../providers/vsphere/xml.js';
import type { LabVsphere } from './vsphere.js';

/**
 * What IBM's automation does in vCenter after a VMware Solutions order: joins the new hosts to
 * the cluster (with their real thumbprints), and takes removed hosts out of the inventory. The
 * lab's VMware Solutions simulator calls these against the lab's SOAP peer.
 */
export function ibmAutomation(vsphere: LabVsphere, login: { user: string; password: string }) {
  const session = async <T>(fn: (c: VsphereClient) => Promise<T>): Promise<T> => {
    const c = new VsphereClient({ url: vsphere.sdkUrl.replace(/\/sdk$/, ''), ...login });
    await c.login();
    try {
      return await fn(c);
    } finally {
      await c.logout();
    }
  };
  const hostsByName = async (c: VsphereClient) => new Map((await c.retrieve([{ type: 'HostSystem', paths: ['name', 'runtime.connectionState', 'runtime.inMaintenanceMode'] }])).map((h) => [text(h.props.name), h] as const));
  return {
    join: (cluster: string, hosts: string[]) =>
      session(async (c) => {
        const found = (await c.retrieve([{ type: 'ClusterComputeResource', paths: ['name'] }])).find((x) => text(x.props.name) === cluster);
        if (!found) throw new Error(`IBM automation: no cluster ${cluster} in vCenter`);
        for (const h of hosts) await c.addHost(found.ref, { hostName: h, port: 443, sslThumbprint: await vsphere.thumbprint(h), userName: 'root', password: 'ibm-automation' });
      }),
    createCluster: (name: string) =>
      session(async (c) => {
        const [dc] = await c.retrieve([{ type: 'Datacenter', paths: ['hostFolder'] }]);
        // IBM builds clusters with HA and DRS on; sddc-ops sets the reservation for the hosts afterwards.
        await c.createCluster({ type: 'Folder', value: text(dc!.props.hostFolder)! }, name, { dasConfig: { enabled: true, admissionControlEnabled: true }, drsConfig: { enabled: true, defaultVmBehavior: 'fullyAutomated' } });
      }),
    destroyCluster: (name: string) =>
      session(async (c) => {
        const found = (await c.retrieve([{ type: 'ClusterComputeResource', paths: ['name'] }])).find((x) => text(x.props.name) === name);
        if (found) await c.destroy(found.ref);
      }),
    leave: (hosts: string[]) =>
      session(async (c) => {
        const byName = await hostsByName(c);
        for (const name of hosts) {
          const h = byName.get(name);
          if (!h) continue;
          const connected = text(h.props['runtime.connectionState']) === 'connected';
          if (connected && text(h.props['runtime.inMaintenanceMode']) !== 'true') await c.enterMaintenanceMode(h.ref);
          if (connected) await c.disconnectHost(h.ref);
          await c.destroy(h.ref);
        }
      }),
  };
}
