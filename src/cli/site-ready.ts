/** `sddc-ops site ready`: check a new site's config block, then tell the add-site run waiting for it (loaded when it runs). */
import { userInfo } from 'node:os';
import { WorkflowNotFoundError } from '@temporalio/client';
import { loadConfig, siteOf } from '../config/load.js';
import type { SiteConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { siteSecretRefs } from '../config/site-secrets.js';
import { send } from '../providers/http.js';
import { tlsOf, TlsVerifyError } from '../providers/tls.js';
import { siteReadyUpdate } from '../../workflows/scale-out/add-site.js';
import { connectOrExplain } from './backup-run.js';
import type { ConnectionOpts } from './common.js';
import { CliError, EXIT, info, printJson } from './output.js';

/** What is wrong with a site's block: secrets that do not resolve, endpoints that do not answer. Never a secret's value. */
export async function siteBlockProblems(site: string, sc: SiteConfig): Promise<string[]> {
  const problems: string[] = [];
  for (const [where, ref] of siteSecretRefs(site, sc)) {
    try {
      await resolveSecret(ref);
    } catch (err) {
      problems.push(`${where}: ${(err as Error).message}`);
    }
  }
  for (const [key, product, ep] of [
    ['vcenter', 'vCenter appliance', sc.vcenter],
    ['nsx', 'NSX Manager', sc.nsx],
  ] as const) {
    // Any HTTP answer will do: this only proves something listens there, with a certificate the config accepts.
    await send({ method: 'GET', url: ep.url, timeoutMs: 10_000, ...tlsOf(ep), product }).catch((err: unknown) =>
      problems.push(err instanceof TlsVerifyError ? `sites.${site}.${key}: ${err.message}` : `sites.${site}.${key}.url ${ep.url} does not answer: ${(err as Error).message}`),
    );
  }
  return problems;
}

export async function siteReady(site: string, o: ConnectionOpts & { run: string; by?: string; config?: string; json?: boolean }): Promise<void> {
  const { config, file } = loadConfig(o.config);
  const sc = siteOf(config, file, site);
  const problems = await siteBlockProblems(site, sc);
  if (problems.length) throw new CliError(`the block of site ${site} in ${file} is not ready:\n  ${problems.join('\n  ')}`, EXIT.BAD_INPUT);
  const by = o.by ?? userInfo().username;
  const { client, connection } = await connectOrExplain(o, config.temporal);
  try {
    await client.workflow
      .getHandle(o.run)
      .executeUpdate(siteReadyUpdate, { args: [{ site, by }] })
      .catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) throw new CliError(`no run ${o.run}`, EXIT.BAD_INPUT);
        const why = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
        throw new CliError(`the run refused: ${why}`, EXIT.BAD_INPUT);
      });
    if (o.json) printJson({ workflowId: o.run, site, by, status: 'site-ready' });
    else info(`${o.run}: site ${site} is ready (by ${by}); the run now takes its first backup and creates its schedule`);
  } finally {
    await connection.close();
  }
}
