import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { send, type HttpRequest } from '../../src/providers/http.js';
import { TlsVerifyError } from '../../src/providers/tls.js';
import { createCa, issueCert, type CertAndKey } from '../../src/lab/tls.js';

/**
 * HTTPS connections kept between requests: reused only under the TLS settings they were verified
 * with, and a kept connection that the server closed under a request is replaced, once.
 */
let dir: string;
let caFile: string;
let otherCaFile: string;
let cert: CertAndKey;
const servers: Server[] = [];

interface Counted {
  url: string;
  /** TLS handshakes the server completed. */
  connections: () => number;
  requests: string[];
  /** The client port of each request's connection. */
  ports: number[];
}

/** `dropNth`: the server cuts the connection, without an answer, on that request of each connection (1 = the first). */
async function serve(o: { dropNth?: number } = {}): Promise<Counted> {
  let connections = 0;
  const requests: string[] = [];
  const ports: number[] = [];
  const perSocket = new WeakMap<object, number>();
  const s = createServer({ cert: cert.certPem, key: cert.keyPem, keepAliveTimeout: 30_000 }, (req, res) => {
    const n = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, n);
    requests.push(`${req.method} ${req.url}`);
    ports.push(req.socket.remotePort!);
    if (n === o.dropNth) return void req.socket.destroy();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  s.on('secureConnection', () => connections++);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  servers.push(s);
  return { url: `https://127.0.0.1:${(s.address() as AddressInfo).port}`, connections: () => connections, requests, ports };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'keepalive-'));
  const [ca, other] = await Promise.all([createCa('site CA'), createCa('some other CA')]);
  writeFileSync(join(dir, 'site.pem'), ca.certPem);
  writeFileSync((otherCaFile = join(dir, 'other.pem')), other.certPem);
  cert = await issueCert(ca, { commonName: 'nsx', ips: ['127.0.0.1'], usage: 'server' });
});
afterAll(() => {
  for (const s of servers) s.closeAllConnections(), s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Each test its own CA file path, so that its connections are its own. */
const freshCaFile = (name: string) => {
  const f = join(dir, `${name}.pem`);
  copyFileSync(join(dir, 'site.pem'), f);
  return f;
};
const get = (url: string, o: Partial<HttpRequest> = {}) => send({ method: 'GET', url: `${url}/api/v1/cluster/backups/status`, product: 'NSX Manager', caFile, timeoutMs: 5_000, ...o });

describe('HTTPS keep-alive', () => {
  it('requests one after another to an endpoint share one verified connection', async () => {
    caFile = freshCaFile('share');
    const srv = await serve();
    for (let i = 0; i < 4; i++) expect((await get(srv.url)).status).toBe(200);
    expect(srv.requests).toHaveLength(4);
    expect(srv.connections()).toBe(1);
  });

  it('other TLS settings never use that connection: a wrong pin is refused before a request is sent, a right one connects itself', async () => {
    caFile = freshCaFile('pins');
    const srv = await serve();
    await get(srv.url);
    const wrong = await get(srv.url, { certFingerprint: 'AA:'.repeat(31) + 'AA' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(TlsVerifyError);
    expect((wrong as TlsVerifyError).problem).toBe('fingerprint');
    expect(srv.requests).toHaveLength(1);
    expect((await get(srv.url, { certFingerprint: new X509Certificate(cert.certPem).fingerprint256 })).status).toBe(200);
    expect(srv.requests).toHaveLength(2);
    expect(srv.ports[1], 'the pinned request came on a connection of its own').not.toBe(srv.ports[0]);
  });

  it('a CA file replaced on disk: connections verified with the old one are not reused', async () => {
    caFile = freshCaFile('rotated');
    const srv = await serve();
    await get(srv.url);
    copyFileSync(otherCaFile, caFile);
    const err = await get(srv.url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TlsVerifyError);
    expect((err as TlsVerifyError).problem).toBe('unknown-ca');
    expect(srv.requests).toHaveLength(1);
  });

  it('a kept connection the server closed under the request: sent again, once, on a new connection', async () => {
    caFile = freshCaFile('stale');
    const srv = await serve({ dropNth: 2 });
    await get(srv.url);
    expect((await get(srv.url)).status).toBe(200);
    expect(srv.connections()).toBe(2);
    expect(srv.requests).toHaveLength(3);
  });

  it('a new connection cut under its request is not sent again: the error stands', async () => {
    caFile = freshCaFile('cut');
    const srv = await serve({ dropNth: 1 });
    const err = (await get(srv.url).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('ECONNRESET');
    expect(srv.requests).toHaveLength(1);
  });
});
