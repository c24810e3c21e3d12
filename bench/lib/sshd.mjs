// A bench-owned OpenSSH sshd on a free loopback port: root logs in with a bench-made ed25519 key,
// sftp is internal-sftp, and shell commands work too (the `ssh … cat F` anchor needs them).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findSshd, fingerprintOfPubFile, freePort, waitForPort } from '../../dist/src/lab/sftp-server.js';

export async function startSshd(dir) {
  const sshd = findSshd();
  if (!sshd) throw new Error('OpenSSH sshd is not installed');
  if (process.getuid?.() !== 0) throw new Error('the bench sshd logs in as root: run the bench as root');
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKey = join(dir, 'ssh_host_ecdsa_key');
  const keyFile = join(dir, 'client_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sddc-ops-bench', '-f', keyFile]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${keyFile}.pub`));
  const port = await freePort();
  const cfg = join(dir, 'sshd_config');
  writeFileSync(
    cfg,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      'MaxSessions 50',
      'MaxStartups 50:30:100',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const child = spawn(sshd, ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log = (log + d).slice(-4000)));
  const exited = new Promise((r) => child.once('exit', r));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  // Whatever happens to the bench, its sshd goes with it.
  process.once('exit', kill);
  try {
    await Promise.race([
      waitForPort(port),
      exited.then((code) => {
        throw new Error(`sshd exited (${code}) before listening: ${log.trim()}`);
      }),
    ]);
  } catch (err) {
    kill();
    throw err;
  }
  const sshOpts = ['-i', keyFile, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];
  return {
    host: '127.0.0.1',
    port,
    user: 'root',
    keyFile,
    privateKey: readFileSync(keyFile, 'utf8'),
    fingerprint: fingerprintOfPubFile(`${hostKey}.pub`),
    /** Arguments of `ssh` up to the destination. */
    sshArgs: [...sshOpts, '-p', String(port), 'root@127.0.0.1'],
    /** Arguments of `sftp -b BATCH`. */
    sftpArgs: (batch) => ['-q', ...sshOpts, '-P', String(port), '-b', batch, 'root@127.0.0.1'],
    /** The PinnedSftp endpoint of the project's code. */
    endpoint() {
      return { host: '127.0.0.1', port, user: 'root', privateKey: this.privateKey, hostKeyFingerprint: this.fingerprint };
    },
    log: () => log,
    async stop() {
      kill();
      await exited;
    },
  };
}
