import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { sshFingerprint } from '../providers/sftp/fingerprint.js';

/** An SFTP server for the lab: where NSX and vCenter (simulated) upload and sddc-ops verifies. */
export interface LabSftp {
  kind: 'sshd' | 'ssh2';
  host: string;
  port: number;
  user: string;
  password: string;
  /** SHA256 fingerprint of the server's ECDSA host key. */
  fingerprint: string;
  /** Prefix of every path the client sees, on this machine's disk (the ssh2 server maps `/` here). */
  diskPath: (remotePath: string) => string;
  /** A directory clients may use, as a client path. */
  homeDir: string;
  stop: () => Promise<void>;
  /** An outage and its end (OpenSSH only): `down()` stops listening and drops every open connection, `up()` listens again on the same port and key. */
  down?: () => Promise<void>;
  up?: () => Promise<void>;
  /** Faults of the server itself (OpenSSH only): see `SftpFaults`. Replaces what was set. */
  setFaults?: (f: SftpFaults) => void;
  /** The processes serving the open connections now (OpenSSH only: its per-connection monitors and sessions). */
  sessionPids?: () => number[];
  /** Sessions the faults dropped so far: the process killed and the file it was reading. */
  drops?: () => { pid: number; file: string }[];
}

export interface SftpFaults {
  /**
   * The next session that reads a file whose path contains this is killed while it holds the file
   * open: its connection drops mid-transfer (the reader's side of an SFTP disconnect). Once.
   */
  dropReaderOf?: string;
}

export const LAB_SFTP_USER = 'sddcops-lab';

export function findSshd(): string | undefined {
  for (const p of ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/sbin/sshd']) if (existsSync(p)) return p;
  return undefined;
}

/** The ECDSA public key blob of an OpenSSH "*.pub" line, fingerprinted the way ssh-keygen -lf does. */
export function fingerprintOfPubFile(pubFile: string): string {
  const b64 = readFileSync(pubFile, 'utf8').trim().split(/\s+/)[1]!;
  return sshFingerprint(Buffer.from(b64, 'base64'));
}

export function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = createConnection({ port, host });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A real OpenSSH sshd on a loopback port with an ECDSA host key, password login for a dedicated
 * lab user (sshd checks passwords against the system, so the user is created and given a fresh
 * random password; that needs root) and internal-sftp. No chroot: OpenSSH refuses one under /tmp.
 */
export async function startOpenSshSftp(dir: string, opts: { port?: number; /** sshd's MaxStartups (default 50:30:100): a fleet's uploads and checks arrive together. */ maxStartups?: string } = {}): Promise<LabSftp> {
  const sshd = findSshd();
  if (!sshd) throw new Error('OpenSSH sshd is not installed (Debian: apt-get install openssh-server)');
  if (process.getuid?.() !== 0) {
    throw new Error('a real sshd with password logins needs root (it authenticates a dedicated system user); run as root or use the ssh2 lab server');
  }
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  const hostKey = join(dir, 'ssh_host_ecdsa_key');
  if (!existsSync(hostKey)) execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-f', hostKey]);
  const password = labUserPassword();
  const uid = Number(execFileSync('id', ['-u', LAB_SFTP_USER]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', LAB_SFTP_USER]).toString().trim());
  const home = join(dir, 'sftp');
  mkdirSync(home, { recursive: true });
  chownSync(home, uid, gid);
  // The lab user must traverse to its directory: mkdtemp makes 0700 directories.
  chmodSync(dir, 0o755);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = opts.port ?? (await freePort());
  const cfg = join(dir, 'sshd_config');
  writeFileSync(
    cfg,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin no',
      `AllowUsers ${LAB_SFTP_USER}`,
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      'ForceCommand internal-sftp',
      `MaxStartups ${opts.maxStartups ?? '50:30:100'}`,
      'MaxSessions 50',
      'LogLevel INFO',
      '',
    ].join('\n'),
  );
  let child: ChildProcess;
  let exited: Promise<number | null>;
  /** Starts sshd on the config above (same port, same host key): also how `up()` ends an outage. */
  const launch = async () => {
    child = spawn(sshd, ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const c = child;
    exited = new Promise<number | null>((r) => c.once('exit', (code) => r(code)));
    try {
      await Promise.race([
        waitForPort(port),
        exited.then((code) => {
          throw new Error(`sshd exited (${code}) before listening: ${stderr.trim()}`);
        }),
      ]);
    } catch (err) {
      c.kill('SIGTERM');
      throw err;
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  /** An outage: the listener goes, and with it every connection it serves (sshd's children outlive a SIGTERM to it). */
  const down = async () => {
    const sessions = child.pid ? descendants(child.pid) : [];
    await stop();
    for (const pid of sessions) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  };
  await launch();
  const dropper = readerDropper(() => child.pid);
  return {
    kind: 'sshd',
    host: '127.0.0.1',
    port,
    user: LAB_SFTP_USER,
    password,
    fingerprint: fingerprintOfPubFile(`${hostKey}.pub`),
    diskPath: (p) => p,
    homeDir: home,
    stop,
    down,
    up: launch,
    sessionPids: () => (child.pid ? descendants(child.pid) : []),
    setFaults: dropper.set,
    drops: dropper.drops,
  };
}

/** The processes under `pid` (sshd's per-connection monitor and session children), from /proc. */
function descendants(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

function parentOf(pid: number): number | undefined {
  try {
    // The command may hold spaces and parentheses: the fields after its closing ')' are fixed.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** A file `pid` holds open read-only whose path contains `pattern`, if any (O_ACCMODE of the fd's flags is O_RDONLY). */
function fileReadBy(pid: number, pattern: string): string | undefined {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  for (const fd of fds) {
    try {
      const file = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (!file.startsWith('/') || !file.includes(pattern)) continue;
      const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (flags && (parseInt(flags[1]!, 8) & 3) === 0) return file;
    } catch {
      /* closed meanwhile */
    }
  }
  return undefined;
}

/**
 * `dropReaderOf`: while armed, looks at the processes serving sshd's connections for one reading a
 * matching file, at every turn of the event loop (a small file is read in a millisecond or two), and
 * kills it with the processes holding its connection (SIGKILL).
 */
function readerDropper(sshdPid: () => number | undefined) {
  let pattern: string | undefined;
  let timer: NodeJS.Immediate | undefined;
  const dropped: { pid: number; file: string }[] = [];
  const look = () => {
    timer = undefined;
    const root = sshdPid();
    if (!pattern || !root) return;
    for (const pid of descendants(root)) {
      const file = fileReadBy(pid, pattern);
      if (!file) continue;
      // The reader (internal-sftp), and up to the listener the processes that hold its connection
      // (the session and its privileged monitor): the TCP connection drops, as in a network cut.
      const chain = [pid];
      for (let p = parentOf(pid); p && p !== root; p = parentOf(p)) chain.push(p);
      for (const p of chain) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone already */
        }
      }
      dropped.push({ pid, file });
      pattern = undefined;
      return;
    }
    timer = setImmediate(look);
    timer.unref();
  };
  return {
    set: (f: SftpFaults) => {
      pattern = f.dropReaderOf;
      if (timer) clearImmediate(timer);
      timer = undefined;
      if (pattern) look();
    },
    drops: () => dropped.map((d) => ({ ...d })),
  };
}

/**
 * The lab user's password: made once per machine and kept in a root-only file, so that labs
 * started in parallel (test files run side by side) share it instead of resetting each other's.
 */
function labUserPassword(): string {
  const dir = join(process.env.SDDC_OPS_CACHE_DIR ?? join(homedir(), '.cache', 'sddc-ops'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'lab-sftp-password');
  let userExists = true;
  try {
    execFileSync('id', ['-u', LAB_SFTP_USER], { stdio: 'ignore' });
  } catch {
    userExists = false;
  }
  let fd: number | undefined;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch {
    /* another lab made it first */
  }
  if (fd !== undefined) {
    const password = 'Lab-' + randomBytes(12).toString('base64url') + '1!';
    if (!userExists) {
      execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', LAB_SFTP_USER]);
    }
    execFileSync('chpasswd', { input: `${LAB_SFTP_USER}:${password}\n` });
    writeSync(fd, password);
    closeSync(fd);
    return password;
  }
  for (let i = 0; i < 100; i++) {
    const text = readFileSync(file, 'utf8');
    if (text) return text;
    execFileSync('sleep', ['0.05']);
  }
  throw new Error(`${file} stays empty: delete it and retry`);
}
