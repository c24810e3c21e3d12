import type { WebhookConfig } from '../../src/config/schema.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { postWebhook, type Notification } from '../../src/providers/notify/webhook.js';
import { guarded } from '../failures.js';
import { parseDuration } from '../../src/domain/duration.js';
import { tlsOf } from '../../src/providers/tls.js';

export interface SendNotificationInput {
  webhookName: string;
  webhook: WebhookConfig;
  notification: Notification;
  /** Stable across retries: the receiver drops a message it already accepted. */
  idempotencyKey: string;
}

export async function sendNotification({ webhook, notification, idempotencyKey }: SendNotificationInput): Promise<{ status: number }> {
  return guarded(async () => ({
    status: await postWebhook({ url: await resolveSecret(webhook.url), format: webhook.format, notification, idempotencyKey, ...tlsOf(webhook), timeoutMs: parseDuration(webhook.timeout) }),
  }));
}
