import { ApplicationFailure } from '@temporalio/workflow';
import { newClusterHa, planHa } from '../../src/domain/ha-admission.js';
import { hostSteps, precheck, steps, undo } from './common.js';
import type { CapacityProvider, ScaleOutSite } from './capacity.js';

/**
 * vcenter-direct: the hosts are racked and installed; sddc-ops joins each over SOAP (a step per
 * host, its undo the host's removal) with the thumbprint pinned, approved or refused, and creates
 * clusters itself.
 */
export function vcenterDirect(site: ScaleOutSite): CapacityProvider {
  const { config, scaleOut, login } = site;
  const needLogin = (name: string) => {
    if (!scaleOut || !login) throw ApplicationFailure.create({ type: 'BadConfig', nonRetryable: true, message: `sites.${name}.scaleOut is not set: give hostUser and hostPassword (a secret reference) for the new hosts` });
    return { scaleOut, login };
  };
  return {
    async orderHosts(input) {
      const { login: hostLogin } = needLogin(input.site);
      const pre = await precheck(() =>
        steps.precheckAddHosts.executeWithOptions({ summary: `Pre-check: cluster ${input.cluster}, ${input.hosts.length} new host(s), thumbprints` }, [
          { vcenter: config.vcenter, scaleOut: hostLogin, cluster: input.cluster, hosts: input.hosts },
        ]),
      );
      const ha = planHa(pre.haBefore, pre.hostsBefore + pre.hosts.length);
      return { steps: hostSteps({ vcenter: config.vcenter, login: hostLogin, cluster: input.cluster, hosts: pre.hosts, ha }), plan: { hosts: pre.hosts, ha }, ha, hosts: () => pre.hosts.map((h) => h.name) };
    },

    async orderCluster(input) {
      const { scaleOut: so, login: hostLogin } = needLogin(input.site);
      if (!input.hosts.length) throw ApplicationFailure.create({ type: 'BadRequest', nonRetryable: true, message: 'a new cluster needs at least one host (--host NAME[=THUMBPRINT])' });
      const nc = so.newCluster;
      const pre = await precheck(() =>
        steps.precheckAddCluster.executeWithOptions({ summary: `Pre-check: new cluster ${input.name}, ${input.hosts.length} host(s), thumbprints` }, [
          { vcenter: config.vcenter, scaleOut: hostLogin, name: input.name, hosts: input.hosts },
        ]),
      );
      // Created with the reservation its hosts will need, so the host steps find nothing to recompute.
      const created = newClusterHa(nc, pre.hosts.length);
      const pct = created.policy.kind === 'resources' ? created.policy.cpuPercent : 0;
      const ha = planHa(created, pre.hosts.length);
      const list = [
        {
          name: `create cluster ${input.name}`,
          undo: `remove cluster ${input.name}`,
          compensate: () => undo.destroyClusterIfPresent.executeWithOptions({ summary: `Undo: remove cluster ${input.name}` }, [{ vcenter: config.vcenter, name: input.name }]),
          run: async () =>
            (await steps.createClusterIfAbsent.executeWithOptions({ summary: `Create cluster ${input.name} (HA ${pct}% for ${nc.hostFailuresToTolerate} failure(s), DRS ${nc.drsEnabled ? nc.drsBehavior : 'off'})` }, [
              { vcenter: config.vcenter, folder: pre.folder, name: input.name, ha: created, drs: { enabled: nc.drsEnabled, behavior: nc.drsBehavior } },
            ])).how,
        },
        ...hostSteps({ vcenter: config.vcenter, login: hostLogin, cluster: input.name, hosts: pre.hosts, ha }),
      ];
      return { steps: list, plan: { hosts: pre.hosts, ha }, ha, hosts: () => pre.hosts.map((h) => h.name) };
    },
  };
}
