import type { IbmCloudConfig, SiteConfig, WebhookConfig } from '../src/config/schema.js';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { workerConfigFile } from '../src/temporal/worker-config.js';
import { nonRetryable } from './failures.js';

/** What a run of one site needs from the config: references only, never secret values. */
export interface SiteRuntime {
  config: SiteConfig;
  /** IBM Cloud access, when the site links IKS clusters. */
  ibm?: IbmCloudConfig;
  webhooks: Record<string, WebhookConfig>;
  /** Which file it came from, for messages. */
  file: string;
}

/**
 * The first step of every run: the site's config as the worker's config file says now (so an
 * edited endpoint reaches the next scheduled run). The result is in the history, so a replay sees
 * what the run saw. A config that does not validate fails the run at once, naming the problems.
 */
export async function loadSiteConfig({ site }: { site: string }): Promise<SiteRuntime> {
  let loaded;
  try {
    loaded = loadConfig(workerConfigFile());
  } catch (err) {
    if (err instanceof ConfigError) throw nonRetryable('BadConfig', `the worker's config is not usable: ${err.message}`);
    throw err;
  }
  const { config, file } = loaded;
  const sc = config.sites[site];
  if (!sc) {
    throw nonRetryable('BadConfig', `${file} (the worker's config) has no site "${site}"; it defines ${Object.keys(config.sites).join(', ')}. Start the worker with --config naming the file that defines it.`);
  }
  const needsIbm = sc.iksClusters.length > 0 || sc.capacity.provider === 'ibm-vmware-solutions';
  return { config: sc, ...(needsIbm && config.ibmCloud ? { ibm: config.ibmCloud } : {}), webhooks: config.notifications.webhooks, file };
}
