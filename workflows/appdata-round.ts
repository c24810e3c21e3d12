import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { SiteConfig, WebhookConfig } from '../src/config/schema.js';
import { SddcOperation, SddcSite } from '../src/temporal/search-attributes.js';
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
export async function startAppDataReminders(o: { site: string; config: SiteConfig; webhooks: Record<string, WebhookConfig>; setId?: string }): Promise<ReminderStart[]> {
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
        args: [
          {
            site: o.site,
            cluster,
            webhooks: o.webhooks,
            remindEvery: o.config.appData.remindEvery,
            escalateAfter: o.config.appData.escalateAfter,
            target: o.config.backupTarget,
            setId: o.setId,
          },
        ],
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
  site: string;
  config: SiteConfig;
  webhooks: Record<string, WebhookConfig>;
}

/** The scheduled (or on-demand) round of app-data reminders for a site, apart from backups. */
export async function appDataRound(input: AppDataRoundInput): Promise<ReminderStart[]> {
  return startAppDataReminders(input);
}
