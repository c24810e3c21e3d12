import { scanHostKey } from '../providers/sftp/keyscan.js';

/** A server's host key fingerprint, read without logging in (the products in the lab trust it on first use). */
export async function peekFingerprint(host: string, port: number): Promise<string> {
  return (await scanHostKey(host, port)).fingerprint;
}
