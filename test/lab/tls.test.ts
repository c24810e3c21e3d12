import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createServer, connect, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createCa, issueCert, labTls, type CertAndKey } from '../../src/lab/tls.js';

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

/** A TLS server with `server`'s certificate that asks for a client certificate signed by `ca`. */
async function mtlsServer(server: CertAndKey, ca: CertAndKey): Promise<number> {
  const s = createServer({ cert: server.certPem, key: server.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true }, (sock) => sock.end(`hello ${(sock.getPeerCertificate().subject.CN as string) ?? ''}`));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  closers.push(() => s.close());
  return (s.address() as AddressInfo).port;
}

function dial(port: number, o: { ca: string; cert?: CertAndKey; servername?: string }): Promise<{ authorized: boolean; error?: string; said: string }> {
  return new Promise((resolve) => {
    const sock: TLSSocket = connect({ host: '127.0.0.1', port, ca: o.ca, servername: o.servername, cert: o.cert?.certPem, key: o.cert?.keyPem, rejectUnauthorized: false });
    let said = '';
    sock.on('data', (d) => (said += d));
    sock.on('error', (e) => resolve({ authorized: false, error: e.message, said }));
    sock.on('end', () => resolve({ authorized: sock.authorized, error: sock.authorizationError ? String(sock.authorizationError) : undefined, said }));
  });
}

describe('certificates made in JavaScript', () => {
  it('a server certificate of the CA is trusted by Node for its IP and names; a client certificate passes mTLS', async () => {
    const ca = await createCa('test CA');
    const server = await issueCert(ca, { commonName: 'lab', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
    const client = await issueCert(ca, { commonName: 'worker', usage: 'client' });
    expect(server.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/); // PKCS#8
    const x = new X509Certificate(server.certPem);
    expect(x.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(x.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(new X509Certificate(ca.certPem).ca).toBe(true);
    expect(x.ca).toBe(false);
    expect(new X509Certificate(client.certPem).keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth

    const port = await mtlsServer(server, ca);
    expect(await dial(port, { ca: ca.certPem, cert: client })).toEqual({ authorized: true, error: undefined, said: 'hello worker' });
  });

  it('failure paths: another CA, no client certificate, a server certificate used as a client one, an expired one', async () => {
    const [ca, other] = await Promise.all([createCa('test CA'), createCa('someone else')]);
    const server = await issueCert(ca, { commonName: '127.0.0.1', usage: 'server' });
    expect(new X509Certificate(server.certPem).subjectAltName, 'a server certificate always has a SAN').toBe('IP Address:127.0.0.1');
    const port = await mtlsServer(server, ca);
    const client = await issueCert(ca, { commonName: 'worker', usage: 'client' });
    expect(await dial(port, { ca: other.certPem, cert: client })).toMatchObject({ authorized: false, error: expect.stringMatching(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED/) });
    expect((await dial(port, { ca: ca.certPem })).said, 'no client certificate: the server refuses').toBe('');
    const asClient = await issueCert(ca, { commonName: 'srv', usage: 'server' });
    expect((await dial(port, { ca: ca.certPem, cert: asClient })).said, 'serverAuth only: not a client certificate').toBe('');
    const day = 24 * 3600_000;
    const expired = await issueCert(ca, { commonName: '127.0.0.1', usage: 'server', notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) });
    const expiredPort = await mtlsServer(expired, ca);
    expect(await dial(expiredPort, { ca: ca.certPem, cert: client })).toMatchObject({ authorized: false, error: 'CERT_HAS_EXPIRED' });
  });

  it('the lab keeps its CA across restarts (operators may trust it) and issues its server certificate anew', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-tls-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await labTls(dir);
    const second = await labTls(dir);
    expect(second.caFile).toBe(join(dir, 'tls', 'ca.pem'));
    expect(readFileSync(second.caFile, 'utf8')).toBe(readFileSync(first.caFile, 'utf8'));
    expect(second.server.certPem).not.toBe(first.server.certPem);
    const x = new X509Certificate(second.server.certPem);
    expect(x.checkIssued(new X509Certificate(readFileSync(first.caFile)))).toBe(true);
    expect(x.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  });
});
