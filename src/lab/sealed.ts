import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

/**
 * How the lab's products encrypt what their backups hold: AES-256-GCM under a key derived from the
 * backup passphrase (scrypt). So a lab backup, like a real one, restores only with its passphrase,
 * and a damaged file fails to open instead of restoring something else.
 */
const MAGIC = Buffer.from('SDDCLAB1');

export class SealedArchiveError extends Error {
  override readonly name = 'SealedArchiveError';
}

export function seal(value: unknown, passphrase: string): Buffer {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', scryptSync(passphrase, salt, 32), iv);
  const body = Buffer.concat([cipher.update(gzipSync(Buffer.from(JSON.stringify(value)))), cipher.final()]);
  return Buffer.concat([MAGIC, salt, iv, cipher.getAuthTag(), body]);
}

export function unseal<T>(data: Buffer, passphrase: string): T {
  if (data.length < MAGIC.length + 44 || !data.subarray(0, MAGIC.length).equals(MAGIC)) throw new SealedArchiveError('not a backup archive (damaged or truncated)');
  const at = MAGIC.length;
  const salt = data.subarray(at, at + 16);
  const iv = data.subarray(at + 16, at + 28);
  const tag = data.subarray(at + 28, at + 44);
  const decipher = createDecipheriv('aes-256-gcm', scryptSync(passphrase, salt, 32), iv);
  decipher.setAuthTag(tag);
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(data.subarray(at + 44)), decipher.final()]);
  } catch {
    throw new SealedArchiveError('the archive cannot be decrypted: wrong passphrase, or the file is damaged');
  }
  return JSON.parse(gunzipSync(plain).toString('utf8')) as T;
}
