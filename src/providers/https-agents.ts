import { Agent } from 'node:https';
import type { Socket } from 'node:net';
import { canonicalFingerprint, caStamp, type EndpointTls } from './tls.js';

/** How long a verified connection may wait unused for the next request to its endpoint. */
export const IDLE_MS = 15_000;

/** Opens and verifies a connection for one request; given to the agent with the request's options. */
export type VerifiedConnect = (done: (err: Error | null, socket?: Socket) => void) => void;

/**
 * Keeps verified TLS connections open between requests (HTTP keep-alive): a backup's status polls
 * and API calls each opened and verified a new one, a full handshake and certificate parse per
 * request. Only connections made under the same TLS settings are shared — one agent per CA file
 * (as it is on disk now), insecure flag and pins — so a socket is never used under checks other
 * than the ones it passed. Every new socket comes from `openVerifiedTls`.
 */
class VerifiedAgent extends Agent {
  constructor() {
    super({ keepAlive: true, timeout: IDLE_MS, maxFreeSockets: 16, scheduling: 'lifo' });
  }
}
// Node calls createConnection(options, callback) and waits for the callback when it returns nothing.
(VerifiedAgent.prototype as unknown as { createConnection: unknown }).createConnection = function (options: { verifiedConnect: VerifiedConnect }, done: (err: Error | null, socket?: Socket) => void) {
  options.verifiedConnect(done);
  return undefined;
};

const agents = new Map<string, { stamp: string; agent: Agent }>();

export function agentFor(tls: EndpointTls): Agent {
  const key = JSON.stringify([tls.caFile ?? '', !!tls.insecure, [tls.certFingerprint ?? []].flat().map(canonicalFingerprint).sort()]);
  const stamp = caStamp(tls.caFile);
  const known = agents.get(key);
  if (known && known.stamp === stamp) return known.agent;
  // A replaced CA file: connections verified against the old one are not reused.
  known?.agent.destroy();
  const agent = new VerifiedAgent();
  agents.set(key, { stamp, agent });
  return agent;
}
