import {
  allHandlersFinished,
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import type { BackupTarget, ContactConfig, IksClusterConfig, WebhookConfig } from '../src/config/schema.js';
import type { AppDataAck } from '../src/domain/backup-set.js';
import { parseDuration } from '../src/domain/duration.js';
import { NON_RETRYABLE_TYPES } from '../src/domain/failure-types.js';
import type { Notification } from '../src/providers/notify/webhook.js';

export interface AppDataReminderInput {
  site: string;
  cluster: IksClusterConfig;
  webhooks: Record<string, WebhookConfig>;
  remindEvery: string;
  escalateAfter: string;
  target: BackupTarget;
  /** The backup set whose manifest records the acknowledgement (newest complete one when absent). */
  setId?: string;
}

export interface AcknowledgeArgs {
  clusterId: string;
  by: string;
  evidence?: string;
}

export interface AcknowledgeResult extends AppDataAck {
  clusterId: string;
  alreadyAcknowledged: boolean;
}

export interface AppDataStatus {
  site: string;
  clusterId: string;
  clusterName?: string;
  owners: string[];
  pendingSince: string;
  remindersSent: number;
  escalated: boolean;
  acknowledged?: AppDataAck;
}

export const acknowledgeUpdate = defineUpdate<AcknowledgeResult, [AcknowledgeArgs]>('acknowledge');
export const appDataStatusQuery = defineQuery<AppDataStatus>('status');

const { sendNotification } = proxyActivities<typeof activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 20, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
});
const { recordAppDataAck } = proxyActivities<typeof activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 20, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
});

export function appDataWorkflowId(site: string, clusterId: string): string {
  return `appdata-${site}-${clusterId}`;
}

/**
 * Tells a cluster's app owners that application data is theirs to back up, and keeps at it —
 * reminders every `remindEvery`, the escalation contacts after `escalateAfter` — until someone
 * acknowledges through the `acknowledge` update; then records who, when and with what evidence.
 */
export async function appDataReminder(input: AppDataReminderInput): Promise<AcknowledgeResult> {
  const { site, cluster } = input;
  const remindEvery = parseDuration(input.remindEvery);
  const escalateAfter = parseDuration(input.escalateAfter);
  const started = Date.now();
  const info = workflowInfo();
  const status: AppDataStatus = {
    site,
    clusterId: cluster.id,
    clusterName: cluster.name,
    owners: cluster.appOwners.map((o) => o.name),
    pendingSince: new Date(started).toISOString(),
    remindersSent: 0,
    escalated: false,
  };
  let ack: AppDataAck | undefined;

  setHandler(appDataStatusQuery, () => status);
  setHandler(
    acknowledgeUpdate,
    ({ by, evidence }) => {
      if (ack) return { ...ack, clusterId: cluster.id, alreadyAcknowledged: true };
      ack = { acknowledgedBy: by.trim(), at: new Date().toISOString(), evidence: evidence?.trim() || undefined, remindersSent: status.remindersSent, escalated: status.escalated };
      status.acknowledged = ack;
      return { ...ack, clusterId: cluster.id, alreadyAcknowledged: false };
    },
    {
      validator: ({ clusterId, by }) => {
        if (clusterId !== cluster.id && clusterId !== cluster.name) {
          throw new Error(`unknown cluster "${clusterId}": this reminder is for IKS cluster ${cluster.id}${cluster.name ? ` (${cluster.name})` : ''} of site ${site}`);
        }
        if (!by?.trim()) throw new Error('say who acknowledges (--by NAME)');
      },
    },
  );

  const what = [
    ...(cluster.appData.namespaces.length ? [`namespaces: ${cluster.appData.namespaces.join(', ')}`] : []),
    ...(cluster.appData.volumes.length ? [`volumes: ${cluster.appData.volumes.join(', ')}`] : []),
  ];
  const notify = async (contacts: ContactConfig[], kind: Notification['kind'], n: number) => {
    const label = cluster.name ?? cluster.id;
    const subject =
      kind === 'appdata-reminder'
        ? `${n > 1 ? `Reminder ${n}: ` : ''}back up the application data of IKS cluster ${label} (site ${site})`
        : `Escalation: app owners of IKS cluster ${label} (site ${site}) have not confirmed their application-data backups`;
    const lines = [
      'IBM backs up the cluster\'s etcd as part of the managed service. Application data is not covered: it is yours to back up.',
      ...(what.length ? [`Data to back up — ${what.join('; ')}.`] : []),
      kind === 'appdata-escalation' ? `Owners: ${status.owners.join(', ') || '(none configured)'}; pending since ${status.pendingSince}.` : '',
      `Confirm with: sddc-ops appdata ack --cluster ${cluster.id} --by "<your name>" --evidence "<where the backup is>"`,
    ].filter(Boolean);
    await Promise.all(
      contacts.map((c) =>
        sendNotification.executeWithOptions({ summary: `${kind === 'appdata-reminder' ? `Reminder ${n}` : 'Escalation'} → ${c.name} (${c.webhook})` }, [
          {
            webhookName: c.webhook,
            webhook: input.webhooks[c.webhook]!,
            notification: { kind, subject, lines, site, cluster: cluster.id, to: c.name },
            idempotencyKey: `${info.workflowId}/${info.runId}/${kind}-${n}/${c.name}`,
          },
        ]),
      ),
    );
  };
  const details = () =>
    setCurrentDetails(
      `**App data of IKS cluster \`${cluster.name ?? cluster.id}\`** (site \`${site}\`)\n\n` +
        `- owners: ${status.owners.join(', ') || '(none)'}\n- reminders sent: ${status.remindersSent}\n- escalated: ${status.escalated ? 'yes' : 'no'}\n` +
        `- acknowledged: ${ack ? `${ack.acknowledgedBy} at ${ack.at}${ack.evidence ? ` — ${ack.evidence}` : ''}` : 'not yet'}`,
    );

  let lastReminder = Date.now();
  await notify(cluster.appOwners, 'appdata-reminder', ++status.remindersSent);
  details();
  while (!ack) {
    const nextReminder = lastReminder + remindEvery;
    const wakeAt = status.escalated ? nextReminder : Math.min(nextReminder, started + escalateAfter);
    if (await condition(() => ack !== undefined, Math.max(1, wakeAt - Date.now()))) break;
    if (!status.escalated && Date.now() >= started + escalateAfter) {
      await notify(cluster.escalation, 'appdata-escalation', 1);
      status.escalated = true;
    }
    if (!ack && Date.now() >= nextReminder) {
      await notify(cluster.appOwners, 'appdata-reminder', ++status.remindersSent);
      lastReminder = Date.now();
    }
    details();
  }
  const done = ack!;
  await recordAppDataAck.executeWithOptions({ summary: `Record ${done.acknowledgedBy}'s acknowledgement in the backup set` }, [
    { target: input.target, setId: input.setId, clusterId: cluster.id, ack: done },
  ]);
  details();
  await condition(allHandlersFinished);
  return { ...done, clusterId: cluster.id, alreadyAcknowledged: false };
}
