import { createHash } from 'node:crypto';

/** The ECDSA host-key algorithms NSX Manager accepts; we negotiate only these, as NSX does. */
export const ECDSA_HOST_KEY_ALGORITHMS = ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'] as const;

/** OpenSSH's SHA-256 fingerprint of a public key blob: "SHA256:" + unpadded base64. */
export function sshFingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/** The key type named at the start of an SSH public key blob (uint32 length + string). */
export function keyType(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}
