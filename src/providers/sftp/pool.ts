import { createHash } from 'node:crypto';
import { PinnedSftp, type SftpEndpoint } from './client.js';

export interface SftpPoolOptions {
  /** How long a session may sit unused before it is closed. */
  idleMs: number;
  /** A session older than this is closed when it comes back: logins are re-checked now and then. */
  maxAgeMs: number;
  /** Unused sessions kept per endpoint and account; more are closed as they come back. */
  maxIdlePerKey: number;
  /** How long the liveness check of a reused session may take before a fresh login replaces it. */
  pingTimeoutMs: number;
}

interface Idle {
  sftp: PinnedSftp;
  timer: NodeJS.Timeout;
}

/**
 * SFTP sessions that outlive one use: a backup's manifest writes, verifications and report each
 * logged in anew (key exchange and password check on both ends, and a process forked by sshd per
 * login), which at a fleet's scale cost the worker and the target more CPU than the reading.
 *
 * A session is shared only by callers with the same host, port, account, pinned host key and
 * credentials (by digest, never kept in clear beyond the session itself); it is reused only after
 * a successful use, after a round trip proves it alive, within `idleMs` of its last use and
 * `maxAgeMs` of its login. A use that fails closes the session. Idle sessions do not keep the
 * process running.
 */
export class SftpPool {
  private readonly idle = new Map<string, Idle[]>();
  private readonly born = new WeakMap<PinnedSftp, number>();
  private closed = false;

  constructor(private readonly o: SftpPoolOptions = { idleMs: 5_000, maxAgeMs: 60_000, maxIdlePerKey: 8, pingTimeoutMs: 5_000 }) {}

  async with<T>(endpoint: SftpEndpoint, fn: (sftp: PinnedSftp) => Promise<T>): Promise<T> {
    const key = keyOf(endpoint);
    const sftp = (await this.reuse(key)) ?? (await this.connect(endpoint));
    let result: T;
    try {
      result = await fn(sftp);
    } catch (err) {
      await sftp.close();
      throw err;
    }
    this.giveBack(key, sftp);
    return result;
  }

  /** Sessions sitting unused now, for tests and diagnostics. */
  get idleCount(): number {
    let n = 0;
    for (const list of this.idle.values()) n += list.length;
    return n;
  }

  /** Closes every unused session; later uses log in anew and are not kept. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    await Promise.all(all.map((i) => (clearTimeout(i.timer), i.sftp.close())));
  }

  private async connect(endpoint: SftpEndpoint): Promise<PinnedSftp> {
    const sftp = await PinnedSftp.connect(endpoint);
    this.born.set(sftp, Date.now());
    return sftp;
  }

  private async reuse(key: string): Promise<PinnedSftp | undefined> {
    const list = this.idle.get(key);
    for (let i = list?.pop(); i; i = list?.pop()) {
      clearTimeout(i.timer);
      i.sftp.setIdle(false);
      if (i.sftp.isOpen && (await i.sftp.ping(this.o.pingTimeoutMs))) return i.sftp;
      void i.sftp.close(); // not awaited: a peer that does not answer takes 2 s to be cut, and this use need not wait
    }
    return undefined;
  }

  private giveBack(key: string, sftp: PinnedSftp): void {
    const list = this.idle.get(key) ?? [];
    const old = Date.now() - (this.born.get(sftp) ?? 0) >= this.o.maxAgeMs;
    if (this.closed || old || !sftp.isOpen || list.length >= this.o.maxIdlePerKey) {
      void sftp.close();
      return;
    }
    const entry: Idle = {
      sftp,
      timer: setTimeout(() => {
        const at = list.indexOf(entry);
        if (at >= 0) list.splice(at, 1);
        void sftp.close();
      }, this.o.idleMs).unref(),
    };
    // One that the server closes while it waits is skipped by the next reuse, or closed by its timer.
    sftp.setIdle(true);
    list.push(entry);
    this.idle.set(key, list);
  }
}

function keyOf(e: SftpEndpoint): string {
  const secret = createHash('sha256').update(`${e.password ?? ''}\0${e.privateKey ?? ''}`).digest('hex');
  return JSON.stringify([e.host, e.port, e.user, e.hostKeyFingerprint, secret]);
}

/** The worker's sessions to its backup targets (activities share them). */
export const targetSessions = new SftpPool();
