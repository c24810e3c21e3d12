import { listen, type LabRequest, type LabResponse } from './http.js';
import type { CertAndKey } from './tls.js';

export interface ReceivedMessage {
  path: string;
  idempotencyKey?: string;
  body: unknown;
  receivedAt: string;
}

/**
 * A webhook receiver for the lab and the tests: accepts POSTs on any path, keeps each message
 * once per Idempotency-Key (as a careful receiver does), and can be told to accept the next N
 * messages yet answer 500, which is when a sender that retries must not post twice.
 */
export async function startWebhookReceiver(o: { port?: number; tls?: CertAndKey } = {}) {
  const messages: ReceivedMessage[] = [];
  const seen = new Set<string>();
  let acceptThenFail = 0;
  const postedKeys: (string | undefined)[] = [];
  const handle = (req: LabRequest): LabResponse => {
    if (req.path === '/lab/messages' && req.method === 'GET') return { status: 200, body: messages };
    if (req.path === '/lab/faults' && req.method === 'PUT') {
      acceptThenFail = Number((req.body as { acceptThenFail?: number })?.acceptThenFail ?? 0);
      return { status: 200, body: { acceptThenFail } };
    }
    if (req.method !== 'POST') return { status: 405 };
    const key = req.headers['idempotency-key'];
    const k = typeof key === 'string' ? key : undefined;
    postedKeys.push(k);
    if (!k || !seen.has(k)) {
      if (k) seen.add(k);
      messages.push({ path: req.path, idempotencyKey: k, body: req.body, receivedAt: new Date().toISOString() });
    }
    if (acceptThenFail > 0) {
      acceptThenFail -= 1;
      return { status: 500, body: { error: 'accepted, but the answer got lost' } };
    }
    return { status: 200, body: { ok: true } };
  };
  const server = await listen(handle, o);
  return {
    url: server.url,
    messages: () => [...messages],
    /** The Idempotency-Key of every POST received, duplicates included. */
    postedKeys: () => [...postedKeys],
    failNextAfterAccepting: (n: number) => {
      acceptThenFail = n;
    },
    close: server.close,
  };
}
