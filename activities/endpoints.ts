import { resolveSecret } from '../src/config/secrets.js';
import type { BackupTarget, IbmCloudConfig, IksClusterConfig, NsxConfig, VcenterConfig } from '../src/config/schema.js';
import { IamTokenProvider } from '../src/providers/ibm/iam.js';
import { IksClient } from '../src/providers/ibm/iks.js';
import type { PinnedSftp, SftpEndpoint } from '../src/providers/sftp/client.js';
import { targetSessions } from '../src/providers/sftp/pool.js';
import type { NsxEndpoint } from '../src/providers/nsx/client.js';
import type { VcenterEndpoint } from '../src/providers/vcenter/client.js';
import { tlsOf } from '../src/providers/tls.js';

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

/**
 * A session to the backup target from the worker's pool (see SftpPool): for every use but the
 * preflight, which logs in anew on purpose to prove the login and host key as they are now.
 */
export async function withTargetSftp<T>(t: BackupTarget, fn: (sftp: PinnedSftp) => Promise<T>): Promise<T> {
  return targetSessions.with(await sftpEndpoint(t), fn);
}

export async function nsxEndpoint(n: NsxConfig): Promise<NsxEndpoint> {
  return { url: n.url, user: n.user, password: await resolveSecret(n.password), ...tlsOf(n) };
}

export async function vcenterEndpoint(v: VcenterConfig): Promise<VcenterEndpoint> {
  return { url: v.url, user: v.user, password: await resolveSecret(v.password), ...tlsOf(v) };
}

/** One token provider per API key, IAM URL and TLS settings for the worker's lifetime: tokens are reused until 80 % of their life. */
const iamProviders = new Map<string, IamTokenProvider>();
export async function iamFor(ibm: IbmCloudConfig): Promise<IamTokenProvider> {
  const apiKey = await resolveSecret(ibm.apiKey);
  const key = `${ibm.iamUrl}\n${apiKey}\n${JSON.stringify(tlsOf(ibm))}`;
  let p = iamProviders.get(key);
  if (!p) iamProviders.set(key, (p = new IamTokenProvider({ iamUrl: ibm.iamUrl, apiKey, ...tlsOf(ibm) })));
  return p;
}

export async function iksClient(ibm: IbmCloudConfig, cluster: Pick<IksClusterConfig, 'resourceGroup'>): Promise<IksClient> {
  return new IksClient({ iksUrl: ibm.iksUrl, iam: await iamFor(ibm), resourceGroup: cluster.resourceGroup, ...tlsOf(ibm) });
}
