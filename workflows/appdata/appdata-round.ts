import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { SiteConfig } from '../../src/config/schema.js';
import { loadSite } from '../site-config.js';
import { SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import { appDataReminder, appDataWorkflowId } from './appdata-reminder.js';

export interface ReminderStart {
  clusterId: string;
  workflowId: string;
  how: 'started' | 'already-pending' | 'no-owners';
}

/**
 * Starts one app-data reminder per linked cluster, as children that outlive the caller (they wait
 * days for a human). A cluster whose previous reminder is still unacknowledged keeps that one.
 */
export async function startAppDataReminders(o: { site: string; config: SiteConfig; setId?: string }): Promise<ReminderStart[]> {
  const out: ReminderStart[] = [];
  for (const cluster of o.config.iksClusters) {
    const workflowId = appDataWorkflowId(o.site, cluster.id);
    if (cluster.appOwners.length === 0) {
      out.push({ clusterId: cluster.id, workflowId, how: 'no-owners' });
      continue;
    }
    try {
      await startChild(appDataReminder, {
        workflowId,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        // The reminder reads the cluster, its contacts and the webhooks from the worker's config itself.
        args: [{ site: o.site, clusterId: cluster.id, ...(o.setId ? { setId: o.setId } : {}) }],
        typedSearchAttributes: [
          { key: SddcSite, value: o.site },
          { key: SddcOperation, value: 'appdata-reminder' },
        ],
        staticSummary: `App owners of IKS cluster ${cluster.name ?? cluster.id} must confirm their application-data backups`,
      });
      out.push({ clusterId: cluster.id, workflowId, how: 'started' });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      out.push({ clusterId: cluster.id, workflowId, how: 'already-pending' });
    }
  }
  return out;
}

export interface AppDataRoundInput {
  /** The site, by name: its clusters come from the worker's config when the round starts. */
  site: string;
}

/** The scheduled (or on-demand) round of app-data reminders for a site, apart from backups. */
export async function appDataRound({ site }: AppDataRoundInput): Promise<ReminderStart[]> {
  const { config } = await loadSite(site, 'the app-data reminder round');
  return startAppDataReminders({ site, config });
}
