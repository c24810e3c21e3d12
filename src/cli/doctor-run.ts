/** What `sddc-ops doctor` checks: the config end to end, one line per check (loaded when it runs). */
import { loadConfig, siteOf } from '../config/load.js';
import type { Config, SiteConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { siteSecretRefs } from '../config/site-secrets.js';
import { checkNsxSeesThePin, preflightBackupTarget, nsxVersionOf } from '../../activities/backup/backup-target.js';
import { classify } from '../../activities/failures.js';
import { withVcenter } from '../providers/vcenter/client.js';
import { VsphereClient } from '../providers/vsphere/client.js';
import { IamTokenProvider } from '../providers/ibm/iam.js';
import { connectClient, recentPollers } from '../temporal/connection.js';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes.js';
import { EXIT, info, printJson } from './output.js';
import type { DoctorOpts } from './doctor.js';
import { tlsOf } from '../providers/tls.js';
import { sandboxOver } from '../domain/endpoint-tls.js';

interface Result {
  check: string;
  ok: boolean;
  detail: string;
}

/** The reason in the words the runs would use (credentials, URL, host key), without a stack. */
const why = (err: unknown) => classify(err).message;

async function siteChecks(config: Config, name: string, site: SiteConfig): Promise<{ check: string; run: () => Promise<string> }[]> {
  const checks: { check: string; run: () => Promise<string> }[] = [];
  for (const [where, ref] of siteSecretRefs(name, site, config)) {
    checks.push({ check: `secret ${ref} (${where})`, run: async () => (await resolveSecret(ref), 'resolves on this machine') });
  }
  const t = site.backupTarget;
  checks.push({
    check: `${name}: SFTP target ${t.user}@${t.host}:${t.port}${t.directory}`,
    run: async () => {
      const r = await preflightBackupTarget(t);
      return `host key ${r.serverFingerprint} matches the pin; the directory is writable`;
    },
  });
  checks.push({ check: `${name}: NSX Manager ${site.nsx.url} (${site.nsx.flavor})`, run: async () => `answers, accepts ${site.nsx.user}; version ${await nsxVersionOf(site.nsx)}` });
  if (site.nsx.flavor === 'nsx-t') {
    checks.push({ check: `${name}: NSX Manager sees the pinned host key at ${t.host}:${t.port}`, run: async () => (await checkNsxSeesThePin(site.nsx, t), `retrieve_ssh_fingerprint gives ${t.hostKeyFingerprint}`) });
  }
  const vcLogin = async (v: SiteConfig['vcenter']) => withVcenter({ url: v.url, user: v.user, password: await resolveSecret(v.password), ...tlsOf(v) }, (c) => c.getVersion());
  checks.push({ check: `${name}: vCenter appliance ${site.vcenter.url}`, run: async () => `answers, accepts ${site.vcenter.user}; version ${(await vcLogin(site.vcenter)).version}` });
  if (site.scaleOut) {
    checks.push({
      check: `${name}: vCenter SOAP ${site.vcenter.url}/sdk (scale-out)`,
      run: async () => {
        const c = new VsphereClient({ url: site.vcenter.url, user: site.vcenter.user, password: await resolveSecret(site.vcenter.password), ...tlsOf(site.vcenter) });
        await c.login();
        await c.logout();
        return `logs in as ${site.vcenter.user}`;
      },
    });
  }
  const ibm = config.ibmCloud;
  if (ibm && (site.iksClusters.length || site.capacity.provider === 'ibm-vmware-solutions')) {
    checks.push({
      check: `${name}: IBM Cloud IAM ${ibm.iamUrl}`,
      run: async () => (await new IamTokenProvider({ iamUrl: ibm.iamUrl, apiKey: await resolveSecret(ibm.apiKey), ...tlsOf(ibm) }).bearer(), 'the API key is exchanged for a token'),
    });
  }
  if (site.drill) {
    const sb = site.drill.sandbox;
    checks.push({ check: `${name}: drill sandbox NSX Manager ${sb.nsx.url}`, run: async () => `answers; version ${await nsxVersionOf(sandboxOver(site.nsx, sb.nsx))}` });
    checks.push({
      check: `${name}: drill sandbox vCenter ${sb.vcenter.url}`,
      run: async () => {
        const v = sandboxOver(site.vcenter, sb.vcenter);
        await withVcenter({ url: v.url, user: v.user, password: await resolveSecret(v.password), ...tlsOf(v) }, async () => undefined);
        return 'answers and accepts the login';
      },
    });
  }
  return checks;
}

export async function doctor(o: DoctorOpts): Promise<void> {
  const { config, file } = loadConfig(o.config);
  const sites = o.site ? [[o.site, siteOf(config, file, o.site)] as const] : Object.entries(config.sites);
  const results: Result[] = [];
  const say = (r: Result) => {
    results.push(r);
    if (!o.json) info(`${r.ok ? '✔' : '✘'} ${r.check} — ${r.detail}`);
  };
  const run = async (check: string, fn: () => Promise<string>) => {
    try {
      say({ check, ok: true, detail: await fn() });
    } catch (err) {
      say({ check, ok: false, detail: why(err) });
    }
  };
  if (!o.json) info(`config ${file}: loads and validates`);
  for (const [name, site] of sites) for (const c of await siteChecks(config, name, site)) await run(c.check, c.run);

  // Temporal: reachable, the search attributes registered, a worker on the task queue.
  const taskQueue = o.taskQueue ?? config.temporal.taskQueue;
  let conn: Awaited<ReturnType<typeof connectClient>> | undefined;
  await run(`Temporal ${o.address ?? config.temporal.address ?? '(TEMPORAL_ADDRESS / profile / 127.0.0.1:7233)'}`, async () => {
    conn = await connectClient({ address: o.address, namespace: o.namespace, profile: o.profile, configAddress: config.temporal.address, configNamespace: config.temporal.namespace, encryption: config.temporal.encryption, connectTimeoutMs: 5_000 });
    return `reachable at ${conn.address}, namespace ${conn.namespace}`;
  });
  if (conn) {
    const c = conn;
    await run(`search attributes on namespace ${c.namespace}`, async () => {
      const have = (await c.connection.operatorService.listSearchAttributes({ namespace: c.namespace })).customAttributes ?? {};
      const missing = Object.keys(SEARCH_ATTRIBUTES).filter((k) => !(k in have));
      if (missing.length) throw new Error(`${missing.join(', ')} not registered: temporal operator search-attribute create --namespace ${c.namespace} ${missing.map((k) => `--name ${k} --type Keyword`).join(' ')}`);
      return `${Object.keys(SEARCH_ATTRIBUTES).join(', ')} registered`;
    });
    await run(`worker on task queue ${taskQueue}`, async () => {
      const pollers = await recentPollers(c.client, c.namespace, taskQueue);
      if (!pollers.length) throw new Error(`no worker polls it: start one with sddc-ops worker --config ${file} --address ${c.address} --namespace ${c.namespace} --task-queue ${taskQueue}`);
      return `${pollers.length} polling (${pollers.join(', ')})`;
    });
    await c.connection.close();
  }
  if (o.json) printJson(results);
  const failed = results.filter((r) => !r.ok).length;
  if (!o.json) info(failed ? `${failed} of ${results.length} checks failed` : `all ${results.length} checks passed`);
  if (failed) process.exitCode = EXIT.RUN_FAILED;
}
