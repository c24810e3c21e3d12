import { resolveSecret } from '../src/config/secrets.js';
import type { BackupTarget, NsxConfig, VcenterConfig } from '../src/config/schema.js';
import type { SftpEndpoint } from '../src/providers/sftp/client.js';
import type { NsxEndpoint } from '../src/providers/nsx/client.js';
import type { VcenterEndpoint } from '../src/providers/vcenter/client.js';

/** Secret references become values here, inside the activity, and nowhere else. */
export async function sftpEndpoint(t: BackupTarget): Promise<SftpEndpoint> {
  return {
    host: t.host,
    port: t.port,
    user: t.user,
    hostKeyFingerprint: t.hostKeyFingerprint,
    password: t.password ? await resolveSecret(t.password) : undefined,
    privateKey: t.privateKey ? await resolveSecret(t.privateKey) : undefined,
  };
}

export async function nsxEndpoint(n: NsxConfig): Promise<NsxEndpoint> {
  return { url: n.url, user: n.user, password: await resolveSecret(n.password), caFile: n.caFile };
}

export async function vcenterEndpoint(v: VcenterConfig): Promise<VcenterEndpoint> {
  return { url: v.url, user: v.user, password: await resolveSecret(v.password), caFile: v.caFile };
}
