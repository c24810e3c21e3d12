import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOpenSshSftp, type LabSftp } from '../../src/lab/sftp-server.js';
import { sshdDirFor } from '../../src/lab/lab.js';
import { FingerprintMismatchError, SftpAuthError } from '../../src/providers/sftp/errors.js';
import { SftpPool, type SftpPoolOptions } from '../../src/providers/sftp/pool.js';
import type { PinnedSftp, SftpEndpoint } from '../../src/providers/sftp/client.js';

/** The worker's pool of SFTP sessions against a real OpenSSH sshd: what it shares, and what it does not. */
let dir: string;
let sftp: LabSftp;
let ep: SftpEndpoint;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sddc-sftp-pool-'));
  sftp = await startOpenSshSftp(sshdDirFor(join(dir, 'lab')));
  ep = { host: sftp.host, port: sftp.port, user: sftp.user, password: sftp.password, hostKeyFingerprint: sftp.fingerprint };
});
afterAll(async () => {
  await sftp?.stop();
  rmSync(dir, { recursive: true, force: true });
  if (sftp) rmSync(sftp.homeDir, { recursive: true, force: true });
});

const options = (o: Partial<SftpPoolOptions> = {}): SftpPoolOptions => ({ idleMs: 10_000, maxAgeMs: 60_000, maxIdlePerKey: 8, pingTimeoutMs: 2_000, ...o });
const signal = (pids: number[], sig: NodeJS.Signals) => pids.forEach((p) => { try { process.kill(p, sig); } catch { /* gone */ } });
const until = async (what: () => boolean, ms = 5_000) => {
  for (const end = Date.now() + ms; !what(); ) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
};
const use = (pool: SftpPool, e = ep) => pool.with(e, async (s) => (await s.exists(sftp.homeDir), s));

describe('the SFTP session pool', () => {
  it('reuses one login for uses one after another, and logs in again for uses at the same time', async () => {
    const pool = new SftpPool(options());
    try {
      const first = await use(pool);
      expect(await use(pool)).toBe(first);
      expect(sftp.sessionPids!().length, 'one connection served both').toBeGreaterThan(0);
      const together = await Promise.all([pool.with(ep, async (s) => (await new Promise((r) => setTimeout(r, 100)), s)), pool.with(ep, async (s) => (await new Promise((r) => setTimeout(r, 100)), s))]);
      expect(together[0]).not.toBe(together[1]);
      expect(pool.idleCount).toBe(2);
    } finally {
      await pool.close();
    }
  });

  it('never shares a session across another pin or other credentials: those log in themselves, and fail as they should', async () => {
    const pool = new SftpPool(options());
    try {
      await use(pool);
      const wrongPin = (await use(pool, { ...ep, hostKeyFingerprint: 'SHA256:' + 'A'.repeat(43) }).catch((e: unknown) => e)) as Error;
      expect(wrongPin).toBeInstanceOf(FingerprintMismatchError);
      const wrongPassword = (await use(pool, { ...ep, password: 'not-the-password' }).catch((e: unknown) => e)) as Error;
      expect(wrongPassword).toBeInstanceOf(SftpAuthError);
      expect(pool.idleCount).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('closes a session whose use failed, and gives the next use a new one', async () => {
    const pool = new SftpPool(options());
    try {
      let failed: PinnedSftp | undefined;
      await expect(pool.with(ep, async (s) => { failed = s; throw new Error('boom'); })).rejects.toThrow('boom');
      expect(failed!.isOpen).toBe(false);
      expect(pool.idleCount).toBe(0);
      expect(await use(pool)).not.toBe(failed);
    } finally {
      await pool.close();
    }
  });

  it('replaces a kept session that the server dropped, or that no longer answers, with a new login', async () => {
    const pool = new SftpPool(options({ pingTimeoutMs: 300 }));
    try {
      const dropped = await use(pool);
      signal(sftp.sessionPids!(), 'SIGKILL');
      await until(() => !dropped.isOpen);
      const next = await use(pool);
      expect(next).not.toBe(dropped);

      // Stopped, not gone: the connection stays up but answers nothing, so only the round trip finds it.
      const stalled = sftp.sessionPids!();
      signal(stalled, 'SIGSTOP');
      try {
        const fresh = await use(pool);
        expect(fresh).not.toBe(next);
        expect(next.isOpen).toBe(false);
      } finally {
        signal(stalled, 'SIGKILL');
        signal(stalled, 'SIGCONT');
      }
    } finally {
      await pool.close();
    }
  });

  it('closes sessions left unused past idleMs, and does not keep one older than maxAgeMs', async () => {
    const idle = new SftpPool(options({ idleMs: 200 }));
    const s = await use(idle);
    expect(idle.idleCount).toBe(1);
    await until(() => idle.idleCount === 0 && !s.isOpen);
    const aged = new SftpPool(options({ maxAgeMs: 0 }));
    const a = await use(aged);
    expect(aged.idleCount).toBe(0);
    expect(a.isOpen).toBe(false);
  });

  it('an outage of the target (down) drops the kept sessions, so the next use meets the outage', async () => {
    const pool = new SftpPool(options());
    try {
      const kept = await use(pool);
      await sftp.down!();
      try {
        await until(() => !kept.isOpen);
        await expect(use(pool)).rejects.toThrow(/ECONNREFUSED|connect/i);
      } finally {
        await sftp.up!();
      }
      expect(await use(pool)).not.toBe(kept);
    } finally {
      await pool.close();
    }
  });
});

describe('a kept session and the process', () => {
  it('does not keep a process running once its work is done', async () => {
    const script = `
      const { SftpPool } = await import(${JSON.stringify(new URL('../../dist/src/providers/sftp/pool.js', import.meta.url).pathname)});
      const pool = new SftpPool({ idleMs: 60000, maxAgeMs: 60000, maxIdlePerKey: 8, pingTimeoutMs: 2000 });
      await pool.with(JSON.parse(process.env.EP), async (s) => s.exists('.'));
      console.log('idle', pool.idleCount);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, EP: JSON.stringify(ep) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    const started = Date.now();
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(out.trim()).toBe('idle 1');
    expect(code).toBe(0);
    expect(Date.now() - started, 'it exited without waiting out the 60 s idle time').toBeLessThan(30_000);
  });
});
