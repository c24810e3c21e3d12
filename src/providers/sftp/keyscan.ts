import { ECDSA_HOST_KEY_ALGORITHMS, keyType, sshFingerprint } from './fingerprint.js';

export interface ScannedHostKey {
  /** "SHA256:" + unpadded base64, as NSX pins it. */
  fingerprint: string;
  /** e.g. ecdsa-sha2-nistp256 */
  type: string;
  bits: number;
}

/**
 * A server's ECDSA host key, read without logging in (what `ssh-keyscan -t ecdsa` does): the only
 * key NSX Manager pins, so the only one offered for.
 */
export async function scanHostKey(host: string, port: number, timeoutMs = 5_000): Promise<ScannedHostKey> {
  const { Client } = await import('ssh2');
  return new Promise((resolve, reject) => {
    const c = new Client();
    let found: ScannedHostKey | undefined;
    c.on('error', (err) => (found ? resolve(found) : reject(new Error(`${host}:${port} offers no ECDSA host key: ${err.message}`))));
    c.connect({
      host,
      port,
      username: 'keyscan',
      readyTimeout: timeoutMs,
      algorithms: { serverHostKey: [...ECDSA_HOST_KEY_ALGORITHMS] },
      hostVerifier: (key: Buffer) => {
        const type = keyType(key);
        found = { fingerprint: sshFingerprint(key), type, bits: Number(/nistp(\d+)$/.exec(type)?.[1] ?? 0) };
        resolve(found);
        return false; // seen: no login
      },
    });
  });
}
