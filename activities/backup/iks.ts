import type { IbmCloudConfig, IksClusterConfig } from '../../src/config/schema.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { IamTokenProvider } from '../../src/providers/ibm/iam.js';
import { IksClient } from '../../src/providers/ibm/iks.js';
import type { IksRecord } from '../../src/domain/backup-set.js';

const HEALTHY_MASTER = new Set(['normal']);

/** One token provider per API key and IAM URL for the worker's lifetime: tokens are reused until 80 % of their life. */
const providers = new Map<string, IamTokenProvider>();
async function iamFor(ibm: IbmCloudConfig): Promise<IamTokenProvider> {
  const apiKey = await resolveSecret(ibm.apiKey);
  const key = `${ibm.iamUrl}\n${apiKey}`;
  let p = providers.get(key);
  if (!p) providers.set(key, (p = new IamTokenProvider({ iamUrl: ibm.iamUrl, apiKey, caFile: ibm.caFile })));
  return p;
}

export interface IksRecordResult {
  records: IksRecord[];
  warnings: string[];
}

/**
 * Records each linked cluster's identity, master version, status and health, and the provider's
 * etcd backup policy. Problems become warnings on the set: they never fail the NSX/vCenter backup.
 */
export async function recordIksClusters({ ibm, clusters }: { ibm: IbmCloudConfig; clusters: IksClusterConfig[] }): Promise<IksRecordResult> {
  const records: IksRecord[] = [];
  const warnings: string[] = [];
  let iam: IamTokenProvider;
  try {
    iam = await iamFor(ibm);
  } catch (err) {
    return { records, warnings: [`IKS clusters not recorded: ${(err as Error).message}`] };
  }
  for (const c of clusters) {
    try {
      const iks = new IksClient({ iksUrl: ibm.iksUrl, iam, resourceGroup: c.resourceGroup, caFile: ibm.caFile });
      const k = await iks.getCluster(c.id);
      const health = k.lifecycle?.masterHealth ?? k.masterHealth;
      const status = k.lifecycle?.masterStatus ?? k.masterStatus;
      records.push({
        clusterId: k.id,
        name: k.name,
        region: k.region,
        state: k.state,
        masterVersion: k.masterKubeVersion,
        masterStatus: status,
        masterHealth: health,
        recordedAt: new Date().toISOString(),
        etcdBackup: { managedBy: 'provider', provider: 'IBM Cloud Kubernetes Service', policy: ibm.etcdBackupPolicy },
      });
      if (!HEALTHY_MASTER.has(health) || k.state !== 'normal') {
        warnings.push(`IKS cluster ${k.name} (${k.id}): master health "${health}", status "${status}", cluster state "${k.state}" — check the master before relying on its managed etcd backups`);
      }
    } catch (err) {
      warnings.push(`IKS cluster ${c.name ?? c.id} (${c.id}) not recorded: ${(err as Error).message}`);
    }
  }
  return { records, warnings };
}
