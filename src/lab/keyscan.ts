import { sshFingerprint } from '../providers/sftp/fingerprint.js';

/** Reads a server's host key fingerprint without logging in (like ssh-keyscan). */
export async function peekFingerprint(host: string, port: number): Promise<string> {
  const { Client } = await import('ssh2');
  return new Promise((resolve, reject) => {
    const c = new Client();
    let fp = '';
    c.on('error', () => (fp ? resolve(fp) : reject(new Error('no host key'))));
    c.connect({
      host,
      port,
      username: 'keyscan',
      readyTimeout: 5_000,
      algorithms: { serverHostKey: ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'] },
      hostVerifier: (key: Buffer) => {
        fp = sshFingerprint(key);
        resolve(fp);
        return false;
      },
    });
  });
}

