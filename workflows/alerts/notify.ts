import { proxyActivities } from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import type { ContactConfig, WebhookConfig } from '../../src/config/schema.js';
import type { Notification } from '../../src/providers/notify/webhook.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';

const { sendNotification } = proxyActivities<typeof activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '5s', maximumAttempts: 10, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
});

/**
 * Tells each contact through its webhook, side by side. The idempotency key is `key` plus the
 * webhook, stable across retries, so a receiver never shows one alert twice. A receiver that stays
 * down is reported in the result, never thrown: an alert must not hide what it is about.
 */
export async function notifyContacts(o: {
  contacts: ContactConfig[];
  webhooks: Record<string, WebhookConfig>;
  key: string;
  notification: Omit<Notification, 'to'>;
}): Promise<{ sent: string[]; failed: string[] }> {
  const sent: string[] = [];
  const failed: string[] = [];
  await Promise.all(
    o.contacts.map(async (c) => {
      const webhook = o.webhooks[c.webhook];
      if (!webhook) return void failed.push(`${c.name}: no webhook ${c.webhook}`);
      try {
        await sendNotification.executeWithOptions({ summary: `${o.notification.kind} → ${c.name} (${c.webhook})` }, [
          { webhookName: c.webhook, webhook, idempotencyKey: `${o.key}-${c.webhook}`, notification: { ...o.notification, to: c.name } },
        ]);
        sent.push(c.name);
      } catch (err) {
        failed.push(`${c.name}: ${(err as { cause?: Error }).cause?.message ?? (err as Error).message}`);
      }
    }),
  );
  return { sent, failed };
}
