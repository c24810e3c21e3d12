import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { ScheduleNotFoundError } from '@temporalio/client';
import { stringify } from 'yaml';
import type { IbmCloudConfig } from '../../src/config/schema.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { SITE_NAME_RE } from '../../src/config/schema.js';
import { HttpError } from '../../src/providers/http.js';
import { VmwareSolutionsClient, type NewInstanceOrder } from '../../src/providers/ibm/vmware-solutions.js';
import { scheduleId, scheduleOptions, upsertSchedule, siteSchedules } from '../../src/schedules/schedules.js';
import { workerConfigFile } from '../../src/temporal/worker-config.js';
import { iamFor } from '../endpoints.js';
import { guarded, nonRetryable } from '../failures.js';
import { tlsOf } from '../../src/providers/tls.js';

/**
 * A new site ordered from IBM Cloud for VMware Solutions: a new vCenter Server (NSX-T) instance.
 * The run orders it, waits hours for it, prints the site block for the config, waits for the
 * operator to add it (`sddc-ops site ready`), backs the site up and schedules its backups.
 */
export interface NewSitePlan {
  ibm: IbmCloudConfig;
  order: NewInstanceOrder;
  price?: { total_monthly: string; currency: string };
  /** The site whose backup target the new site's block starts from. */
  templateSite: string;
}

async function client(ibm: IbmCloudConfig): Promise<VmwareSolutionsClient> {
  return new VmwareSolutionsClient({ url: ibm.vmwareSolutionsUrl, iam: await iamFor(ibm), ...tlsOf(ibm) });
}

function workerConfig() {
  try {
    return loadConfig(workerConfigFile());
  } catch (err) {
    if (err instanceof ConfigError) throw nonRetryable('BadConfig', `the worker's config is not usable: ${err.message}`);
    throw err;
  }
}

/**
 * Read-only: the site is new, IBM access is configured, the instance name is free, and IBM
 * verifies and prices the order. An account IBM no longer lets order new instances is refused
 * here, in IBM's words, before anything is ordered.
 */
export async function precheckIbmSite(i: { site: string; location: string; hosts: number; rootDomain?: string }): Promise<NewSitePlan> {
  return guarded(async () => {
    const { config, file } = workerConfig();
    const problems: string[] = [];
    if (!SITE_NAME_RE.test(i.site) || i.site.length > 10) problems.push(`site name ${i.site}: IBM names the instance after it, so use 1–10 lowercase letters, digits or -`);
    if (config.sites[i.site]) problems.push(`${file} already has a site ${i.site}`);
    if (!config.ibmCloud) problems.push(`${file} has no ibmCloud block: give ibmCloud.apiKey (a secret reference)`);
    if (problems.length || !config.ibmCloud) throw nonRetryable('ScaleOutPrecheckFailed', `nothing was ordered: ${problems.join('; ')}`, { problems });
    const ibm = config.ibmCloud;
    const c = await client(ibm);
    const instances = await c.listInstances();
    if (instances.some((x) => x.name === i.site && x.status !== 'Deleted')) throw nonRetryable('ScaleOutPrecheckFailed', `nothing was ordered: the account already has an instance named ${i.site}`);
    // The new instance takes the root domain of the account's other instances unless told otherwise.
    const ibmSites = Object.entries(config.sites).filter(([, s]) => s.capacity.provider === 'ibm-vmware-solutions');
    let rootDomain = i.rootDomain;
    for (const [, s] of ibmSites) {
      if (rootDomain) break;
      if (s.capacity.provider === 'ibm-vmware-solutions') rootDomain = (await c.getInstance(s.capacity.instanceId)).root_domain;
    }
    if (!rootDomain) throw nonRetryable('ScaleOutPrecheckFailed', 'nothing was ordered: give the new instance\'s root domain (--root-domain): no site of this config orders from IBM to take it from');
    const order: NewInstanceOrder = { name: i.site, root_domain: rootDomain, management: { cluster_name: `${i.site}-mgmt`, location: i.location, quantity: i.hosts } };
    let verified;
    try {
      verified = await c.orderInstance(order, { verify: true });
    } catch (err) {
      if (err instanceof HttpError && (err.status === 403 || err.status === 400)) throw nonRetryable('ScaleOutPrecheckFailed', `nothing was ordered: IBM Cloud refuses the order: ${err.detail}`);
      throw err;
    }
    return { ibm, order, ...(verified.price ? { price: verified.price } : {}), templateSite: ibmSites[0]?.[0] ?? Object.keys(config.sites)[0]! };
  });
}

/** The instance this run ordered: named so, and created since the run began (an older one is not ours to touch). */
async function ours(c: VmwareSolutionsClient, name: string, notBefore: number) {
  return (await c.listInstances()).find((x) => x.name === name && (x.created_time ?? 0) >= Math.floor(notBefore / 1000) && !['Deleted', 'Deleting'].includes(x.status));
}

/** Orders the instance; one this run already ordered (a retry, a restarted worker) is not ordered again. */
export async function orderIbmInstance(i: { ibm: IbmCloudConfig; order: NewInstanceOrder; notBefore: number }): Promise<{ id: string; how: 'ordered' | 'already-ordered' }> {
  return guarded(async () => {
    const c = await client(i.ibm);
    const mine = await ours(c, i.order.name, i.notBefore);
    if (mine) return { id: mine.id, how: 'already-ordered' as const };
    const r = await c.orderInstance(i.order);
    if (!r.id) throw nonRetryable('CapacityOrderFailed', `IBM accepted the order of instance ${i.order.name} but named no instance id: look it up in the IBM Cloud console`);
    return { id: r.id, how: 'ordered' as const };
  });
}

/** One look at a new instance: Available (with its endpoints), or — for the undo — Deleted. Not yet: retryable. */
export async function awaitIbmInstance(i: { ibm: IbmCloudConfig; id: string; want: 'available' | 'deleted' }): Promise<{ vcenter?: string; nsx?: string }> {
  return guarded(async () => {
    const c = await client(i.ibm);
    let inst;
    try {
      inst = await c.getInstance(i.id);
    } catch (err) {
      if (i.want === 'deleted' && err instanceof HttpError && err.status === 404) return {};
      throw err;
    }
    if (i.want === 'deleted') {
      if (inst.status === 'Deleted') return {};
      throw ApplicationFailure.create({ type: 'OrderInProgress', category: ApplicationFailureCategory.BENIGN, message: `instance ${inst.name} is ${inst.status}` });
    }
    if (inst.status === 'Failed') {
      const said = (await c.history(i.id)).at(-1)?.message;
      throw nonRetryable('CapacityOrderFailed', `instance ${inst.name} failed to deploy${said ? `; IBM says: ${said}` : ''}`);
    }
    if (inst.status !== 'Available') throw ApplicationFailure.create({ type: 'OrderInProgress', category: ApplicationFailureCategory.BENIGN, message: `instance ${inst.name} is ${inst.status} (orders take hours)` });
    const url = (type: string) => {
      const e = inst.endpoints?.find((x) => x.type === type);
      const at = e?.fqdn ?? e?.ip_address;
      return at ? (at.includes('://') ? at : `https://${at}`) : undefined;
    };
    return { vcenter: url('vcenter'), nsx: url('nsxt') ?? url('nsx') };
  });
}

/** Deletes the instance this run ordered (never another); none left is fine. */
export async function deleteIbmInstance(i: { ibm: IbmCloudConfig; name: string; notBefore: number }): Promise<{ how: 'requested' | 'absent'; id?: string }> {
  return guarded(async () => {
    const c = await client(i.ibm);
    const mine = await ours(c, i.name, i.notBefore);
    if (!mine) return { how: 'absent' as const };
    await c.deleteInstance(mine.id);
    return { how: 'requested' as const, id: mine.id };
  });
}

/**
 * The block the operator adds to the config for the new site: its endpoints, secrets as
 * references to fill in (never values), the backup target of an existing site with a directory of
 * its own, and a nightly backup schedule.
 */
export async function newSiteBlock(i: { site: string; templateSite: string; endpoints: { vcenter?: string; nsx?: string } }): Promise<string> {
  return guarded(async () => {
    const { config } = workerConfig();
    const t = config.sites[i.templateSite];
    const env = (what: string) => `env:SDDC_${i.site.toUpperCase().replace(/-/g, '_')}_${what}`;
    const block = {
      // The template site's CA is the likeliest signer of the new appliances' certificates; no pin or insecure carries over.
      vcenter: { url: i.endpoints.vcenter ?? 'https://VCENTER-FQDN', user: 'administrator@vsphere.local', password: env('VCENTER_PASSWORD'), backupPassword: env('VCENTER_BACKUP_PASSWORD'), ...(t?.vcenter.caFile ? { caFile: t.vcenter.caFile } : {}) },
      nsx: { url: i.endpoints.nsx ?? 'https://NSX-FQDN', user: 'admin', password: env('NSX_PASSWORD'), backupPassphrase: env('NSX_PASSPHRASE'), ...(t?.nsx.caFile ? { caFile: t.nsx.caFile } : {}) },
      ...(t ? { backupTarget: { ...t.backupTarget, directory: `${t.backupTarget.directory.replace(/\/[^/]*\/?$/, '')}/${i.site}` } } : {}),
      schedules: [{ purpose: 'backup', cron: '0 2 * * *', timezone: 'UTC' }],
    };
    return stringify({ sites: { [i.site]: block } });
  });
}

/** Creates (or updates) the backup schedules the site's config block declares. */
export async function applySiteSchedules(i: { site: string }): Promise<{ schedules: string[] }> {
  return guarded(async () => {
    const { config } = workerConfig();
    const sc = config.sites[i.site];
    if (!sc) throw nonRetryable('BadConfig', `the worker's config has no site ${i.site}`);
    const ctx = Context.current();
    const ids: string[] = [];
    for (const s of siteSchedules(sc)) {
      await upsertSchedule(ctx.client, scheduleOptions(config, i.site, s, ctx.info.taskQueue, 'config'));
      ids.push(scheduleId(i.site, s.purpose));
    }
    return { schedules: ids };
  });
}

/** Removes the site's schedules (the undo of applySiteSchedules); ones already gone are fine. */
export async function deleteSiteSchedules(i: { site: string; purposes: string[] }): Promise<void> {
  return guarded(async () => {
    const client = Context.current().client;
    for (const p of i.purposes) {
      await client.schedule
        .getHandle(scheduleId(i.site, p))
        .delete()
        .catch((err: unknown) => {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
        });
    }
  });
}
