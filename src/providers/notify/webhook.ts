import { HttpError, send } from '../http.js';
import { tlsOf, type EndpointTls } from '../tls.js';

export interface Notification {
  kind: 'appdata-reminder' | 'appdata-escalation' | 'drill-failed' | 'backup-failed' | 'backup-cancelled' | 'backup-abandoned' | 'no-recent-good-set';
  subject: string;
  lines: string[];
  site: string;
  /** The IKS cluster an app-data message is about. */
  cluster?: string;
  to: string;
}

/** Slack-compatible: `text` for clients and fallbacks, `blocks` for a readable message. */
export function slackBody(n: Notification): object {
  const text = `*${n.subject}*\n${n.lines.join('\n')}`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}

export function jsonBody(n: Notification, idempotencyKey: string): object {
  return { idempotencyKey, ...n };
}

/**
 * POSTs a notification with an Idempotency-Key header that stays the same across retries, so a
 * receiver that already accepted the message (and whose answer was lost) does not post it twice.
 */
export async function postWebhook(o: { url: string; format: 'slack' | 'json'; notification: Notification; idempotencyKey: string; timeoutMs?: number } & EndpointTls): Promise<number> {
  const u = new URL(o.url);
  if (u.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) {
    throw new HttpError(`webhook at ${u.host}`, 'POST', u.origin, 400, 'webhook URLs must use https:// (plain http only on this machine)');
  }
  const res = await send({
    method: 'POST',
    url: o.url,
    body: o.format === 'slack' ? slackBody(o.notification) : jsonBody(o.notification, o.idempotencyKey),
    headers: { 'idempotency-key': o.idempotencyKey },
    ...tlsOf(o),
    product: 'webhook',
    timeoutMs: o.timeoutMs ?? 15_000,
    secretUrl: true,
  });
  // The URL carries a token: errors name only the host.
  if (res.status >= 300) throw new HttpError(`webhook at ${new URL(o.url).host}`, 'POST', new URL(o.url).origin, res.status, res.text.slice(0, 200));
  return res.status;
}
