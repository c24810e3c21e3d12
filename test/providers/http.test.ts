import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer as createHttp, type Server } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { send } from '../../src/providers/http.js';
import { postWebhook, type Notification } from '../../src/providers/notify/webhook.js';
import { freePort } from '../../src/lab/sftp-server.js';
import { createCa, issueCert } from '../../src/lab/tls.js';

/** Slack-style webhook URLs keep their token in the path. */
const TOKEN = 'T0SECRET/B0SECRET/xoxb-do-not-print-me';
const note: Notification = { kind: 'appdata-reminder', subject: 's', lines: ['l'], site: 'x', cluster: 'c', to: 'owners' };
const listenOn = (server: Server) => new Promise<number>((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));

let silent: Server;
let silentPort: number;
beforeAll(async () => {
  silent = createHttp(() => undefined); // accepts, never answers
  silentPort = await listenOn(silent);
});
afterAll(() => new Promise((r) => silent.close(r)));

describe('errors from a URL that came from a secret name its host only', () => {
  it('a timeout', async () => {
    const err = (await send({ method: 'POST', url: `http://127.0.0.1:${silentPort}/services/${TOKEN}`, body: {}, timeoutMs: 200, secretUrl: true }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(new RegExp(`POST 127\\.0\\.0\\.1:${silentPort} timed out after 200 ms`));
    expect(err.message).not.toContain('SECRET');
    expect(err.stack ?? '').not.toContain('SECRET');
  });

  it('a refused connection, and an answer of 500 from a webhook', async () => {
    const closed = await freePort();
    const refused = (await postWebhook({ url: `http://127.0.0.1:${closed}/services/${TOKEN}`, format: 'slack', notification: note, idempotencyKey: 'k', timeoutMs: 2000 }).catch((e: Error) => e)) as Error;
    expect(refused.message).toMatch(/ECONNREFUSED/);
    expect(refused.message).not.toContain('SECRET');
    const failing = createHttp((_q, res) => res.writeHead(500).end('{"error":"boom"}'));
    const port = await listenOn(failing);
    try {
      const e500 = (await postWebhook({ url: `http://127.0.0.1:${port}/services/${TOKEN}?token=${TOKEN}`, format: 'json', notification: note, idempotencyKey: 'k' }).catch((e: Error) => e)) as Error;
      expect(e500.message).toMatch(/webhook at 127\.0\.0\.1:\d+ answered 500/);
      expect(e500.message).not.toContain('SECRET');
    } finally {
      failing.close();
    }
  });

  it('a product URL (not a secret) keeps its path, which helps the operator', async () => {
    const err = (await send({ method: 'GET', url: `http://127.0.0.1:${silentPort}/api/v1/cluster/backups/status`, timeoutMs: 200 }).catch((e: Error) => e)) as Error;
    expect(err.message).toContain('/api/v1/cluster/backups/status');
  });
});

describe('webhooks take a caFile like the other endpoints', () => {
  it('a receiver with a private CA is trusted only with its caFile', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ca-'));
    const ca = await createCa('receiver CA');
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
    const cert = await issueCert(ca, { commonName: '127.0.0.1', usage: 'server' });
    const server = createHttps({ key: cert.keyPem, cert: cert.certPem }, (_q, res) => res.writeHead(200).end('{}'));
    const port = await listenOn(server as unknown as Server);
    try {
      const url = `https://127.0.0.1:${port}/hooks/${TOKEN}`;
      const untrusted = (await postWebhook({ url, format: 'json', notification: note, idempotencyKey: 'k' }).catch((e: Error) => e)) as Error;
      expect(untrusted).toBeInstanceOf(Error);
      expect(untrusted.message).not.toContain('SECRET');
      expect(await postWebhook({ url, format: 'json', notification: note, idempotencyKey: 'k', caFile: join(dir, 'ca.pem') })).toBe(200);
    } finally {
      server.close();
    }
  });
});
