import { posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import type { SFTPWrapper } from 'ssh2';
import { ECDSA_HOST_KEY_ALGORITHMS, sshFingerprint } from '../providers/sftp/fingerprint.js';

export interface ProductUpload {
  host: string;
  port: number;
  user: string;
  password: string;
  /** NSX pins the ECDSA fingerprint; vCenter's API has none, so it passes undefined. */
  pinnedFingerprint?: string;
  files: { path: string; data: Buffer }[];
  /**
   * Lab faults: the upload of file number `at` stops half-way, its first half written — the
   * connection drops there (`disconnect`), or the server answers that write SSH_FX_FAILURE, as
   * OpenSSH's sftp-server does when its disk is full (`full`: SFTP v3 has no out-of-space code).
   */
  interrupt?: { how: 'disconnect' | 'full'; at: number };
}

export class UploadError extends Error {
  constructor(readonly code: 'BAD_FINGERPRINT' | 'AUTH' | 'UNREACHABLE' | 'PERMISSION' | 'CONNECTION_LOST' | 'WRITE_FAILED', message: string) {
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
      readyTimeout: 60_000, // an appliance waits on a slow target (many uploads at once) rather than failing at once
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
    for (const [i, f] of u.files.entries()) {
      await client.mkdir(posix.dirname(f.path), true);
      if (u.interrupt?.at === i) await interrupted(client, f, u.interrupt.how, `${u.host}:${u.port}`);
      await client.put(f.data, f.path);
    }
  } catch (err) {
    if (err instanceof UploadError) throw err;
    throw new UploadError('PERMISSION', (err as Error).message);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Writes the first half of `f`, then fails the way `how` says; the half written stays on the server. */
async function interrupted(client: SftpClient, f: { path: string; data: Buffer }, how: 'disconnect' | 'full', server: string): Promise<never> {
  const half = f.data.subarray(0, Math.floor(f.data.length / 2));
  if (how === 'full') {
    await client.put(half, f.path);
    // What the product's SFTP client gets back for the next write: status 4, SSH_FX_FAILURE.
    throw new UploadError('WRITE_FAILED', `write to ${f.path} failed: Failure`);
  }
  // Open and write without closing the handle, then drop the connection under it.
  const inner = client as unknown as { sftp: SFTPWrapper; client: { destroy: () => void } };
  const handle = await new Promise<Buffer>((res, rej) => inner.sftp.open(f.path, 'w', (e, h) => (e ? rej(e) : res(h))));
  await new Promise<void>((res, rej) => inner.sftp.write(handle, half, 0, half.length, 0, (e) => (e ? rej(e) : res())));
  inner.client.destroy();
  throw new UploadError('CONNECTION_LOST', `the connection to ${server} was lost while writing ${f.path}`);
}

/** What a damaged upload looks like: cut short, or bytes flipped in the middle. */
export function damage(data: Buffer, how: 'truncate' | 'corrupt' | 'ok' | 'disconnect' | undefined): Buffer {
  if (how === 'truncate') return data.subarray(0, Math.floor(data.length / 2));
  if (how === 'corrupt') {
    const copy = Buffer.from(data);
    const mid = Math.floor(copy.length / 2);
    for (let i = mid; i < Math.min(mid + 16, copy.length); i++) copy[i] = copy[i]! ^ 0xff;
    return copy;
  }
  return data;
}
