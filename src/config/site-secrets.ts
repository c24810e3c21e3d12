import type { Config, SiteConfig } from './schema.js';

/**
 * Every secret reference a site's runs need, with where it sits in the config
 * ("sites.tokyo-1.nsx.password"). With the whole config, also the webhooks its contacts use and
 * the IBM Cloud API key when the site needs IBM.
 */
export function siteSecretRefs(name: string, site: SiteConfig, config?: Config): [string, string][] {
  const refs: [string, string | undefined][] = [
    ['nsx.password', site.nsx.password],
    ['nsx.backupPassphrase', site.nsx.backupPassphrase],
    ['vcenter.password', site.vcenter.password],
    ['vcenter.backupPassword', site.vcenter.backupPassword],
    ['backupTarget.password', site.backupTarget.password],
    ['backupTarget.privateKey', site.backupTarget.privateKey],
    ['scaleOut.hostPassword', site.scaleOut?.hostPassword],
    ['drill.sandbox.vcenter.password', site.drill?.sandbox.vcenter.password],
    ['drill.sandbox.nsx.password', site.drill?.sandbox.nsx.password],
    ['drill.sandbox.redeploy.url', site.drill?.sandbox.redeploy?.url],
  ];
  const out = refs.filter((r): r is [string, string] => !!r[1]).map(([k, v]): [string, string] => [`sites.${name}.${k}`, v]);
  if (!config) return out;
  const contacts = [...site.iksClusters.flatMap((c) => [...c.appOwners, ...c.escalation]), ...(site.alerts?.notify ?? []), ...(site.drill?.notify ?? [])];
  for (const w of new Set(contacts.map((c) => c.webhook))) {
    const url = config.notifications.webhooks[w]?.url;
    if (url) out.push([`notifications.webhooks.${w}.url`, url]);
  }
  if (config.ibmCloud && (site.iksClusters.length || site.capacity.provider === 'ibm-vmware-solutions')) out.push(['ibmCloud.apiKey', config.ibmCloud.apiKey]);
  return out;
}
