import {
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import type { ContactConfig, IksClusterConfig } from '../../src/config/schema.js';
import { ApplicationFailure } from '@temporalio/workflow';
import { loadSite } from '../site-config.js';
import type { AppDataAck } from '../../src/domain/backup-set.js';
import { parseDuration } from '../../src/domain/duration.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import type { Notification } from '../../src/providers/notify/webhook.js';

export interface AppDataReminderInput {
  /** Site and cluster by name: contacts, webhooks, durations and target come from the worker's config, read by each run. */
  site: string;
  clusterId: string;
  /** The backup set whose manifest records the acknowledgement (newest complete one when absent). */
  setId?: string;
  /** Rounds (reminders and escalations) before the run continues as new, keeping its history small. */
  roundsBeforeContinue?: number;
  /** What the previous run of this reminder had done, when it continued as new. */
  carried?: { pendingSince: string; remindersSent: number; escalated: boolean; lastReminderAt: number; warnings: string[] };
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
  /** Notifications that could not be delivered (the reminder goes on; the next round tries again). */
  warnings: string[];
}

export const acknowledgeUpdate = defineUpdate<AcknowledgeResult, [AcknowledgeArgs]>('acknowledge');
export const appDataStatusQuery = defineQuery<AppDataStatus>('status');

const { recordAppDataAck } = proxyActivities<typeof activities>({
  startToCloseTimeout: '30s',
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
  const { site } = input;
  // Registered before the first await: an acknowledgement may come at any moment.
  let ack: AppDataAck | undefined;
  let cluster: IksClusterConfig | undefined;
  const carried = input.carried;
  const started = carried ? Date.parse(carried.pendingSince) : Date.now();
  // What the reminder has done so far needs no config: it answers queries before the config is read.
  const status: AppDataStatus = {
    site,
    clusterId: input.clusterId,
    owners: [],
    pendingSince: new Date(started).toISOString(),
    remindersSent: carried?.remindersSent ?? 0,
    escalated: carried?.escalated ?? false,
    warnings: carried?.warnings ?? [],
  };
  setHandler(appDataStatusQuery, () => status);
  setHandler(
    acknowledgeUpdate,
    ({ by, evidence }) => {
      if (ack) return { ...ack, clusterId: input.clusterId, alreadyAcknowledged: true };
      ack = { acknowledgedBy: by.trim(), at: new Date().toISOString(), evidence: evidence?.trim() || undefined, remindersSent: status.remindersSent, escalated: status.escalated };
      status.acknowledged = ack;
      return { ...ack, clusterId: input.clusterId, alreadyAcknowledged: false };
    },
    {
      validator: ({ clusterId, by }) => {
        if (clusterId !== input.clusterId && clusterId !== cluster?.name) {
          throw new Error(`unknown cluster "${clusterId}": this reminder is for IKS cluster ${input.clusterId}${cluster?.name ? ` (${cluster.name})` : ''} of site ${site}`);
        }
        if (!by?.trim()) throw new Error('say who acknowledges (--by NAME)');
      },
    },
  );
  const { config, webhooks } = await loadSite(site, `the app-data reminder of cluster ${input.clusterId}`);
  cluster = config.iksClusters.find((c) => c.id === input.clusterId);
  if (!cluster) {
    throw ApplicationFailure.create({ type: 'BadConfig', nonRetryable: true, message: `IKS cluster ${input.clusterId} is no longer linked to site ${site} in the worker's config: this reminder ends` });
  }
  const remindEvery = parseDuration(config.appData.remindEvery);
  const escalateAfter = parseDuration(config.appData.escalateAfter);
  const info = workflowInfo();
  status.clusterName = cluster.name;
  status.owners = cluster.appOwners.map((o) => o.name);
  /** A message that keeps failing gives up by the next round (which tries again), and becomes a warning. */
  const { sendNotification } = proxyActivities<typeof activities>({
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: Math.min(Math.max(remindEvery, 10_000), 3_600_000),
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
  });
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
    const sent = await Promise.allSettled(
      contacts.map((c) =>
        sendNotification.executeWithOptions({ summary: `${kind === 'appdata-reminder' ? `Reminder ${n}` : 'Escalation'} → ${c.name} (${c.webhook})` }, [
          {
            webhookName: c.webhook,
            webhook: webhooks[c.webhook]!,
            notification: { kind, subject, lines, site, cluster: cluster.id, to: c.name },
            // Stable across retries and across continue-as-new; unique per reminder cycle.
            idempotencyKey: `${info.workflowId}/${info.firstExecutionRunId}/${kind}-${n}/${c.name}`,
          },
        ]),
      ),
    );
    sent.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      const cause = (r.reason as { cause?: Error }).cause ?? (r.reason as Error);
      status.warnings = [...status.warnings, `${kind === 'appdata-reminder' ? `reminder ${n}` : 'escalation'} to ${contacts[i]!.name} (${contacts[i]!.webhook}) not delivered: ${cause.message}`].slice(-20);
    });
  };
  const details = () =>
    setCurrentDetails(
      `**App data of IKS cluster \`${cluster.name ?? cluster.id}\`** (site \`${site}\`)\n\n` +
        `- owners: ${status.owners.join(', ') || '(none)'}\n- reminders sent: ${status.remindersSent}\n- escalated: ${status.escalated ? 'yes' : 'no'}\n` +
        `- acknowledged: ${ack ? `${ack.acknowledgedBy} at ${ack.at}${ack.evidence ? ` — ${ack.evidence}` : ''}` : 'not yet'}` +
        (status.warnings.length ? `\n\n**Warnings**\n${status.warnings.map((w) => `- ⚠ ${w}`).join('\n')}` : ''),
    );

  let lastReminder = carried?.lastReminderAt ?? Date.now();
  if (!carried && !ack) await notify(cluster.appOwners, 'appdata-reminder', ++status.remindersSent);
  details();
  const roundsBeforeContinue = input.roundsBeforeContinue ?? 100;
  for (let rounds = 0; !ack; rounds++) {
    if (rounds >= roundsBeforeContinue || workflowInfo().continueAsNewSuggested) {
      // Weeks of reminders must not grow one history without bound: carry the state into a new run.
      await condition(allHandlersFinished);
      if (!ack) {
        await continueAsNew<typeof appDataReminder>({
          ...input,
          carried: { pendingSince: status.pendingSince, remindersSent: status.remindersSent, escalated: status.escalated, lastReminderAt: lastReminder, warnings: status.warnings },
        });
      }
      break;
    }
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
    { target: config.backupTarget, setId: input.setId, clusterId: cluster.id, ack: done },
  ]);
  details();
  await condition(allHandlersFinished);
  return { ...done, clusterId: cluster.id, alreadyAcknowledged: false };
}
