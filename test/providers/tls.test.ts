import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { send, type HttpRequest } from '../../src/providers/http.js';
import { TlsVerifyError, type TlsProblem } from '../../src/providers/tls.js';
import { NsxClient } from '../../src/providers/nsx/client.js';
import { postWebhook } from '../../src/providers/notify/webhook.js';
import { classify } from '../../activities/failures.js';
import { parseConfig, ConfigError } from '../../src/config/load.js';
import { createCa, issueCert, type CertAndKey } from '../../src/lab/tls.js';

const DAY = 24 * 3600_000;
let dir: string;
let caFile: string;
let otherCaFile: string;
const servers: Server[] = [];
/** Requests each server received: a certificate that fails must never see one (nor its credentials). */
const received = new Map<string, string[]>();
const url: Record<'good' | 'expired' | 'wrongHost', string> = { good: '', expired: '', wrongHost: '' };
let goodFingerprint: string;

async function serve(name: keyof typeof url, cert: CertAndKey): Promise<void> {
  received.set(name, []);
  const s = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    received.get(name)!.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"node_version":"4.2.1","product_version":"4.2.1"}');
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  servers.push(s);
  url[name] = `https://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tls-'));
  const [ca, other] = await Promise.all([createCa('site CA'), createCa('some other CA')]);
  writeFileSync((caFile = join(dir, 'ca.pem')), ca.certPem);
  writeFileSync((otherCaFile = join(dir, 'other.pem')), other.certPem);
  const good = await issueCert(ca, { commonName: 'nsx', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
  goodFingerprint = new X509Certificate(good.certPem).fingerprint256;
  await serve('good', good);
  await serve('expired', await issueCert(ca, { commonName: 'nsx', ips: ['127.0.0.1'], usage: 'server', notBefore: new Date(Date.now() - 400 * DAY), notAfter: new Date('2025-03-01T00:00:00Z') }));
  await serve('wrongHost', await issueCert(ca, { commonName: 'nsx', dns: ['nsx01.example.com', 'nsx.example.com'], usage: 'server' }));
});
afterAll(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => vi.restoreAllMocks());

const get = (o: Partial<HttpRequest> & { url: string }) => send({ method: 'GET', product: 'NSX Manager', headers: { authorization: 'Basic c2VjcmV0' }, timeoutMs: 5_000, ...o });
async function refused(o: Partial<HttpRequest> & { url: string }): Promise<TlsVerifyError> {
  const err = await get(o).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(TlsVerifyError);
  return err as TlsVerifyError;
}
const hostOf = (u: string) => new URL(u).host;
const stderrLines = () => {
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  return () => spy.mock.calls.map((c) => String(c[0]));
};

describe('HTTPS to a product: the certificate is checked before anything is sent', () => {
  it('the right CA works; nothing is warned', async () => {
    const lines = stderrLines();
    expect((await get({ url: `${url.good}/api/v1/node/version`, caFile })).status).toBe(200);
    expect(received.get('good')!.at(-1)).toMatch(/^GET \/api\/v1\/node\/version Basic/);
    expect(lines()).toEqual([]);
  });

  const failures: [string, () => Partial<HttpRequest> & { url: string }, TlsProblem, RegExp, RegExp, keyof typeof url][] = [
    ['a CA other than the signer', () => ({ url: url.good, caFile: otherCaFile }), 'unknown-ca', /signed by a CA this machine does not trust \(issuer "site CA"/, /check the endpoint's caFile \(.*other\.pem\): it must hold the CA that issued the certificate/, 'good'],
    ['no caFile for a private CA', () => ({ url: url.good }), 'unknown-ca', /does not trust/, /set it to the PEM of the CA .* only public CAs are trusted/, 'good'],
    ['an expired certificate', () => ({ url: url.expired, caFile }), 'expired', /it expired on 2025-03-01T00:00:00\.000Z/, /the certificate's validity .* and this machine's clock/, 'expired'],
    ['a certificate for another host', () => ({ url: url.wrongHost, caFile }), 'wrong-host', /it is for nsx01\.example\.com, nsx\.example\.com, not 127\.0\.0\.1/, /the URL's host name/, 'wrongHost'],
    ['a pin the certificate does not match', () => ({ url: url.good, caFile, certFingerprint: '00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff' }), 'fingerprint', /SHA-256 fingerprint [0-9A-F:]{95} does not match the pinned 00:11:22:33:44:55:66:77:88:99:AA:BB/, /check the endpoint's certFingerprint/, 'good'],
  ];
  it.each(failures)('%s: refused at once, naming the endpoint, the reason and what to check; no request reaches it', async (_what, req, problem, reason, check, server) => {
    const before = received.get(server)!.length;
    const r = req();
    const started = Date.now();
    const err = await refused(r);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err.problem).toBe(problem);
    expect(err.endpoint).toBe(`NSX Manager at ${hostOf(r.url)}`);
    expect(err.message).toMatch(new RegExp(`^NSX Manager at ${hostOf(r.url).replace(/\./g, '\\.')}: TLS certificate not accepted: `));
    expect(err.message).toMatch(reason);
    expect(err.message).toMatch(check);
    expect(received.get(server)!.length, 'the request (and its Authorization header) was never sent').toBe(before);
  });

  it('a pin that matches works alongside the CA, in any case, alone or in a list', async () => {
    expect((await get({ url: url.good, caFile, certFingerprint: goodFingerprint })).status).toBe(200);
    expect((await get({ url: url.good, caFile, certFingerprint: goodFingerprint.toLowerCase() })).status).toBe(200);
    expect((await get({ url: url.good, caFile, certFingerprint: ['AA:'.repeat(31) + 'AA', goodFingerprint] })).status).toBe(200);
    // The pin does not replace the CA: a matching pin with the wrong caFile is still refused.
    expect((await refused({ url: url.good, caFile: otherCaFile, certFingerprint: goodFingerprint })).problem).toBe('unknown-ca');
  });

  it('insecure: true skips the checks but warns on every use, naming the endpoint', async () => {
    const lines = stderrLines();
    expect((await get({ url: url.expired, insecure: true })).status).toBe(200);
    expect((await get({ url: url.wrongHost, caFile: otherCaFile, insecure: true })).status).toBe(200);
    expect((await get({ url: url.wrongHost, caFile: otherCaFile, insecure: true })).status).toBe(200);
    const warned = lines();
    expect(warned).toHaveLength(3);
    expect(warned[0]).toMatch(new RegExp(`^warning: TLS verification is off for NSX Manager at ${hostOf(url.expired).replace(/\./g, '\\.')} \\(insecure: true in the config\\)`));
    expect(warned[2]).toContain(`NSX Manager at ${hostOf(url.wrongHost)}`);
  });

  it('insecure with a pin: the pin alone decides', async () => {
    const lines = stderrLines();
    expect((await get({ url: url.good, insecure: true, certFingerprint: goodFingerprint })).status).toBe(200);
    expect(lines()[0]).toMatch(/only the pinned fingerprint is checked/);
    expect((await refused({ url: url.expired, insecure: true, certFingerprint: goodFingerprint })).problem).toBe('fingerprint');
  });

  it('inside an activity the warning goes to the worker\'s logger, with the activity\'s context', async () => {
    const entries: LogEntry[] = [];
    const env = new MockActivityEnvironment({ activityType: 'preflightProducts' }, { logger: new DefaultLogger('WARN', (e) => void entries.push(e)) });
    const lines = stderrLines();
    await env.run(() => get({ url: url.good, insecure: true }));
    expect(lines()).toEqual([]);
    expect(entries).toEqual([expect.objectContaining({ level: 'WARN', message: expect.stringContaining(`TLS verification is off for NSX Manager at ${hostOf(url.good)}`), meta: expect.objectContaining({ activityType: 'preflightProducts', insecure: true }) })]);
  });

  it('activities turn it into a non-retryable TlsVerifyFailed with the same message', async () => {
    const err = await refused({ url: url.good, caFile: otherCaFile });
    const f = classify(err);
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f).toMatchObject({ type: 'TlsVerifyFailed', nonRetryable: true, message: err.message });
  });

  it('product clients name their product; a webhook (secret URL) names its host only', async () => {
    const nsx = new NsxClient({ url: url.good, user: 'admin', password: 'pw', caFile: otherCaFile });
    await expect(nsx.getNodeVersion()).rejects.toThrow(new RegExp(`^NSX Manager at ${hostOf(url.good).replace(/\./g, '\\.')}: TLS certificate not accepted`));
    expect((await new NsxClient({ url: url.good, user: 'admin', password: 'pw', caFile, certFingerprint: goodFingerprint }).getNodeVersion()).product_version).toBe('4.2.1');
    const token = 'T0SECRET/xoxb-do-not-print-me';
    const err = (await postWebhook({ url: `${url.good}/hooks/${token}`, format: 'json', notification: { kind: 'backup-failed', subject: 's', lines: [], site: 'x', to: 'y' }, idempotencyKey: 'k', caFile: otherCaFile }).catch((e: Error) => e)) as Error;
    expect(err).toBeInstanceOf(TlsVerifyError);
    expect(err.message).toMatch(new RegExp(`^webhook at ${hostOf(url.good).replace(/\./g, '\\.')}:`));
    expect(`${err.message} ${err.stack}`).not.toContain('SECRET');
  });
});

describe('the config: insecure and certFingerprint on every endpoint', () => {
  const config = (nsx: Record<string, unknown>) =>
    parseConfig(
      JSON.stringify({
        sites: {
          x: {
            vcenter: { url: 'https://vc.example.com', user: 'u', password: 'env:P', backupPassword: 'env:B' },
            nsx: { url: 'https://nsx.example.com', user: 'u', password: 'env:P', backupPassphrase: 'env:Q', ...nsx },
            backupTarget: { host: 'h', user: 'u', password: 'env:P', directory: '/b', hostKeyFingerprint: 'SHA256:' + 'A'.repeat(43) },
          },
        },
      }),
      'test.yaml',
    );
  const problems = (nsx: Record<string, unknown>) => {
    try {
      config(nsx);
      return [];
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).problems;
    }
  };

  it('accepts a pin in either case, a list of pins, and an explicit insecure; verification is on by default', () => {
    const fp = 'ab:'.repeat(31) + 'CD';
    expect(config({ certFingerprint: fp }).sites.x!.nsx.certFingerprint).toBe(fp);
    expect(config({ certFingerprint: [fp, fp.toUpperCase()], insecure: true }).sites.x!.nsx).toMatchObject({ insecure: true, certFingerprint: [fp, fp.toUpperCase()] });
    expect(config({}).sites.x!.nsx.insecure).toBeUndefined();
  });

  it.each([
    ['an SSH-style fingerprint', { certFingerprint: 'SHA256:' + 'A'.repeat(43) }, /^sites\.x\.nsx\.certFingerprint: must be a certificate's SHA-256 fingerprint, 32 hex pairs/],
    ['a SHA-1 fingerprint (20 pairs)', { certFingerprint: 'AB:'.repeat(19) + 'AB' }, /^sites\.x\.nsx\.certFingerprint: must be/],
    ['an empty list', { certFingerprint: [] }, /^sites\.x\.nsx\.certFingerprint: an empty list pins nothing/],
    ['a list with a bad entry', { certFingerprint: ['AB:'.repeat(31) + 'AB', 'nope'] }, /^sites\.x\.nsx\.certFingerprint\[1\]: must be/],
    ['insecure as a word', { insecure: 'yes' }, /^sites\.x\.nsx\.insecure: /],
  ])('refuses %s, naming the field', (_what, nsx, problem) => {
    expect(problems(nsx)).toEqual([expect.stringMatching(problem)]);
  });
});
