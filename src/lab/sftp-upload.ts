import { posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import { ECDSA_HOST_KEY_ALGORITHMS, sshFingerprint } from '../providers/sftp/fingerprint.js';

export interface ProductUpload {
  host: string;
  port: number;
  user: string;
  password: string;
  /** NSX pins the ECDSA fingerprint; vCenter's API has none, so it passes undefined. */
  pinnedFingerprint?: string;
  files: { path: string; data: Buffer }[];
}

export class UploadError extends Error {
  constructor(readonly code: 'BAD_FINGERPRINT' | 'AUTH' | 'UNREACHABLE' | 'PERMISSION', message: string) {
    super(message);
  }
}

/** Uploads a product's backup files over SFTP the way the product does: its own login, its own key check. */
export async function uploadAsProduct(u: ProductUpload): Promise<void> {
  const client = new SftpClient('lab-product');
  let offered: string | undefined;
  try {
    await client.connect({
      host: u.host,
      port: u.port,
      username: u.user,
      password: u.password,
      readyTimeout: 10_000,
      algorithms: { serverHostKey: [...ECDSA_HOST_KEY_ALGORITHMS] },
      hostVerifier: (key: Buffer) => {
        offered = sshFingerprint(key);
        return u.pinnedFingerprint === undefined || offered === u.pinnedFingerprint;
      },
    });
  } catch (err) {
    await client.end().catch(() => undefined);
    if (u.pinnedFingerprint && offered && offered !== u.pinnedFingerprint) {
      throw new UploadError('BAD_FINGERPRINT', `server fingerprint ${offered} does not match ${u.pinnedFingerprint}`);
    }
    if (/authentication/i.test((err as Error).message)) throw new UploadError('AUTH', 'SFTP authentication failed');
    throw new UploadError('UNREACHABLE', (err as Error).message);
  }
  try {
    for (const f of u.files) {
      await client.mkdir(posix.dirname(f.path), true);
      await client.put(f.data, f.path);
    }
  } catch (err) {
    throw new UploadError('PERMISSION', (err as Error).message);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** What a damaged upload looks like: cut short, or bytes flipped in the middle. */
export function damage(data: Buffer, how: 'truncate' | 'corrupt' | 'ok' | undefined): Buffer {
  if (how === 'truncate') return data.subarray(0, Math.floor(data.length / 2));
  if (how === 'corrupt') {
    const copy = Buffer.from(data);
    const mid = Math.floor(copy.length / 2);
    for (let i = mid; i < Math.min(mid + 16, copy.length); i++) copy[i] = copy[i]! ^ 0xff;
    return copy;
  }
  return data;
}
