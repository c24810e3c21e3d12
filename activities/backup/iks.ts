import type { IbmCloudConfig, IksClusterConfig } from '../../src/config/schema.js';
import type { IamTokenProvider } from '../../src/providers/ibm/iam.js';
import { IksClient, type IksCluster } from '../../src/providers/ibm/iks.js';
import type { IksRecord } from '../../src/domain/backup-set.js';
import { iamFor } from '../endpoints.js';
import { tlsOf } from '../../src/providers/tls.js';

const HEALTHY_MASTER = new Set(['normal']);

/** What a backup set (or a scale-out run, before and after) records of an IKS cluster: a record, not a backup we hold. */
export function iksRecordOf(k: IksCluster, ibm: IbmCloudConfig): IksRecord {
  return {
    clusterId: k.id,
    name: k.name,
    region: k.region,
    state: k.state,
    masterVersion: k.masterKubeVersion,
    masterStatus: k.lifecycle?.masterStatus ?? k.masterStatus,
    masterHealth: k.lifecycle?.masterHealth ?? k.masterHealth,
    recordedAt: new Date().toISOString(),
    etcdBackup: { managedBy: 'provider', provider: 'IBM Cloud Kubernetes Service', policy: ibm.etcdBackupPolicy },
  };
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
      const iks = new IksClient({ iksUrl: ibm.iksUrl, iam, resourceGroup: c.resourceGroup, ...tlsOf(ibm) });
      const k = await iks.getCluster(c.id);
      const record = iksRecordOf(k, ibm);
      const { masterHealth: health, masterStatus: status } = record;
      records.push(record);
      if (!HEALTHY_MASTER.has(health) || k.state !== 'normal') {
        warnings.push(`IKS cluster ${k.name} (${k.id}): master health "${health}", status "${status}", cluster state "${k.state}" — check the master before relying on its managed etcd backups`);
      }
    } catch (err) {
      warnings.push(`IKS cluster ${c.name ?? c.id} (${c.id}) not recorded: ${(err as Error).message}`);
    }
  }
  return { records, warnings };
}
