import { createHash } from 'node:crypto';

/**
 * NSX never returns the SFTP password or the backup passphrase, so reading its settings cannot
 * tell whether they were rotated. This worker remembers a digest of what it last sent to each
 * manager: a worker's first backup sends them once, and a rotated secret is sent again.
 * Only a digest is kept, in memory.
 */
const sent = new Map<string, string>();

const digest = (values: string[]) => createHash('sha256').update(JSON.stringify(values)).digest('hex');

export function credentialsChanged(endpoint: string, values: string[]): boolean {
  return sent.get(endpoint) !== digest(values);
}

export function credentialsSent(endpoint: string, values: string[]): void {
  sent.set(endpoint, digest(values));
}
