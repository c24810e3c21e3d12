import { inject, afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from '../fixtures/stack.js';
import { startDevServer } from '../../src/temporal/dev-server.js';
import { freePort } from '../../src/lab/sftp-server.js';
import { createCa, issueCert } from '../../src/lab/tls.js';
import { startTestLab, type TestLab } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';

/**
 * `temporal server start-dev` has no TLS listener: a Node TLS server (ALPN h2) that requires a
 * client certificate from the test's CA stands in front of it and pipes bytes to its plain port.
 * Everything reaches Temporal through that proxy, with the TLS settings of a temporal.toml profile.
 */
describe('Temporal over mTLS, from an envconfig profile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sddc-mtls-'));
  let server: Awaited<ReturnType<typeof startDevServer>>;
  let proxy: TlsServer;
  let proxyAddress = '';
  let lab: TestLab;
  let worker: ChildProcess | undefined;
  const handshakes = { ok: 0, refused: 0 };
  const toml = join(dir, 'temporal.toml');
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const run = (args: string[], profile: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args, '--profile', profile], { env: { ...process.env, TEMPORAL_ADDRESS: '', TEMPORAL_CONFIG_FILE: toml } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    const [s, l] = await Promise.all([startDevServer({ cliPath: inject('temporalCli'), dataDir: join(dir, 'server'), port: await freePort(), headless: true }), startTestLab({ site: 'mtls' })]);
    server = s;
    lab = l;
    const ca = await createCa('sddc-ops test Temporal CA');
    const serverCert = await issueCert(ca, { commonName: 'temporal.test', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
    const client = await issueCert(ca, { commonName: 'sddc-ops worker', usage: 'client' });
    const stranger = await issueCert(await createCa('another CA'), { commonName: 'sddc-ops worker', usage: 'client' });
    const [devHost, devPort] = server.address.split(':');
    proxy = createTlsServer({ key: serverCert.keyPem, cert: serverCert.certPem, ca: [ca.certPem], requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (sock) => {
      handshakes.ok++;
      const up = netConnect(Number(devPort), devHost!);
      sock.pipe(up).pipe(sock);
      sock.on('error', () => up.destroy());
      up.on('error', () => sock.destroy());
    });
    proxy.on('tlsClientError', () => handshakes.refused++);
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    proxyAddress = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const caFile = file('ca.pem', ca.certPem);
    const tls = (cert?: { certPem: string; keyPem: string }, name = 'x') =>
      `server_ca_cert_path = "${caFile}"\n` + (cert ? `client_cert_path = "${file(`${name}.pem`, cert.certPem)}"\nclient_key_path = "${file(`${name}.key`, cert.keyPem)}"\n` : '');
    writeFileSync(
      toml,
      `[profile.mtls]\naddress = "${proxyAddress}"\nnamespace = "default"\n[profile.mtls.tls]\n${tls(client, 'client')}` +
        `[profile.nocert]\naddress = "${proxyAddress}"\n[profile.nocert.tls]\n${tls()}` +
        `[profile.stranger]\naddress = "${proxyAddress}"\n[profile.stranger.tls]\n${tls(stranger, 'stranger')}` +
        `[profile.plain]\naddress = "${proxyAddress}"\n`,
    );
  }, 240_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((r) => worker!.once('exit', r));
    }
    proxy?.close();
    await server?.stop();
    await lab?.dispose();
  });

  it('the worker and the CLI connect through the proxy with mTLS, and a backup runs end to end', async () => {
    worker = spawn(process.execPath, [CLI, 'worker', '--config', lab.configPath, '--profile', 'mtls'], { env: { ...process.env, TEMPORAL_ADDRESS: '', TEMPORAL_CONFIG_FILE: toml } });
    let workerErr = '';
    worker.stderr!.on('data', (d) => (workerErr += d));
    await until('the worker to poll through the proxy', () => /worker polling/.test(workerErr) || worker!.exitCode !== null, 90_000);
    expect(worker.exitCode, workerErr).toBeNull();
    const r = await run(['backup', 'run', '--site', 'mtls', '--config', lab.configPath, '--json'], 'mtls');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).status).toBe('complete');
    expect(handshakes.ok).toBeGreaterThanOrEqual(2);
  }, 240_000);

  it('without a client certificate, or with one from another CA, the CLI says what to check', async () => {
    for (const profile of ['nocert', 'stranger']) {
      const before = handshakes.refused;
      const r = await run(['backup', 'status', 'coordinated-backup-mtls', '--config', lab.configPath], profile);
      expect(r.code, `${profile}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(`cannot reach Temporal at ${proxyAddress}`);
      expect(r.stderr).toMatch(profile === 'nocert' ? /requires a client certificate \(mTLS\) and the profile gives none/ : /refused the client certificate/);
      expect(r.stderr).toContain(`profile ${profile}`);
      expect(r.stderr).not.toContain('sddc-ops dev');
      expect(handshakes.refused).toBeGreaterThan(before);
    }
  }, 120_000);

  it('a worker with a refused certificate exits naming the profile and what to fix', async () => {
    const r = await run(['worker', '--config', lab.configPath], 'stranger');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/client certificate/);
    expect(r.stderr).toContain('profile stranger');
  }, 120_000);

  it('plain gRPC to a TLS endpoint is told to turn TLS on', async () => {
    const r = await run(['backup', 'status', 'coordinated-backup-mtls', '--config', lab.configPath], 'plain');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach Temporal at ${proxyAddress}`);
    expect(r.stderr).toMatch(/speaks TLS and this connection does not: turn TLS on in the profile/);
  }, 120_000);
});
