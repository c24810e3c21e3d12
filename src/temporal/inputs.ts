import type { Config } from '../config/schema.js';
import type { CoordinatedBackupInput } from '../../workflows/coordinated-backup.js';
import type { AppDataRoundInput } from '../../workflows/appdata-round.js';

/** What a run of a site needs from the config file: references only, never secret values. */
export function backupInput(config: Config, site: string): CoordinatedBackupInput {
  const siteConfig = config.sites[site]!;
  return {
    site,
    config: siteConfig,
    ...(siteConfig.iksClusters.length && config.ibmCloud ? { ibm: config.ibmCloud } : {}),
    webhooks: config.notifications.webhooks,
  };
}

export function appDataRoundInput(config: Config, site: string): AppDataRoundInput {
  return { site, config: config.sites[site]!, webhooks: config.notifications.webhooks };
}
