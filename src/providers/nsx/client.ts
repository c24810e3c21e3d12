import { HttpError, HttpTimeoutError, basicAuth, errorDetail, parseJson, send, type HttpRequest } from '../http.js';
import type {
  BackupConfiguration,
  BackupOperationHistory,
  BackupTimestamp,
  ClusterRestoreStatus,
  CurrentBackupOperationStatus,
  NodeVersion,
  NsxApiError,
  RestoreConfiguration,
} from './types.js';
import { tlsOf, type EndpointTls } from '../tls.js';

export interface NsxEndpoint extends EndpointTls {
  url: string;
  user: string;
  password: string;
}

/** Client of the NSX-T Manager backup API; HTTP basic auth on every call. */
export class NsxClient {
  constructor(private readonly ep: NsxEndpoint) {}

  private async call<T>(method: HttpRequest['method'], path: string, body?: unknown, timeoutMs?: number): Promise<T> {
    const url = new URL(path, this.ep.url).toString();
    const res = await send({
      method,
      url,
      body,
      timeoutMs,
      ...tlsOf(this.ep),
      product: 'NSX Manager',
      headers: { authorization: basicAuth(this.ep.user, this.ep.password) },
    });
    if (res.status >= 400) {
      const detail = errorDetail<NsxApiError>(res, (e) => e?.error_message && `${e.error_message}${e.error_code !== undefined ? ` (error_code ${e.error_code})` : ''}`);
      throw new HttpError('NSX Manager', method, url, res.status, detail);
    }
    return parseJson<T>(res.text);
  }

  getBackupConfig(): Promise<BackupConfiguration> {
    return this.call('GET', '/api/v1/cluster/backups/config');
  }

  putBackupConfig(config: BackupConfiguration): Promise<BackupConfiguration> {
    return this.call('PUT', '/api/v1/cluster/backups/config', config);
  }

  /**
   * Starts an on-demand backup. Whether NSX answers at once or only when the backup ends is not
   * documented, so a timeout here is tolerated: the caller polls the status either way.
   */
  async startBackup(timeoutMs = 15_000): Promise<'accepted' | 'timed-out'> {
    try {
      await this.call('POST', '/api/v1/cluster?action=backup_to_remote', undefined, timeoutMs);
      return 'accepted';
    } catch (err) {
      if (err instanceof HttpTimeoutError) return 'timed-out';
      throw err;
    }
  }

  /** The ECDSA fingerprint NSX itself sees at the backup server (what operators paste into the backup config). */
  retrieveSshFingerprint(server: string, port: number): Promise<{ server: string; port: number; ssh_fingerprint: string }> {
    return this.call('POST', '/api/v1/cluster/backups?action=retrieve_ssh_fingerprint', { server, port });
  }

  getBackupStatus(): Promise<CurrentBackupOperationStatus> {
    return this.call('GET', '/api/v1/cluster/backups/status');
  }

  getBackupHistory(): Promise<BackupOperationHistory> {
    return this.call('GET', '/api/v1/cluster/backups/history');
  }

  /** On a freshly deployed manager: where the backups are, and the passphrase that decrypts them. */
  putRestoreConfig(config: RestoreConfiguration): Promise<unknown> {
    return this.call('PUT', '/api/v1/cluster/restore/config', config);
  }

  async restoreTimestamps(): Promise<BackupTimestamp[]> {
    return (await this.call<{ results?: BackupTimestamp[] }>('GET', '/api/v1/cluster/restore/backuptimestamps')).results ?? [];
  }

  startRestore(nodeId: string, timestamp: number): Promise<ClusterRestoreStatus> {
    return this.call('POST', '/api/v1/cluster/restore?action=start', { node_id: nodeId, timestamp });
  }

  getRestoreStatus(): Promise<ClusterRestoreStatus> {
    return this.call('GET', '/api/v1/cluster/restore/status');
  }

  /** Answers what a restore suspended for: one entry per instruction, by its id. */
  advanceRestore(data: { id: string; [k: string]: unknown }[]): Promise<ClusterRestoreStatus> {
    return this.call('POST', '/api/v1/cluster/restore?action=advance', { data });
  }

  cancelRestore(): Promise<ClusterRestoreStatus> {
    return this.call('POST', '/api/v1/cluster/restore?action=cancel');
  }

  /** Every object of a Policy API list (cursor pages followed), e.g. "/policy/api/v1/infra/segments". */
  async policyList<T>(path: string): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.call<{ results?: T[]; cursor?: string }>('GET', cursor ? `${path}?cursor=${encodeURIComponent(cursor)}` : path);
      out.push(...(page.results ?? []));
      cursor = page.cursor || undefined;
    } while (cursor);
    return out;
  }

  /** This manager node: its id (node_uuid) and versions. */
  getNode(): Promise<{ node_uuid: string; hostname?: string; product_version?: string }> {
    return this.call('GET', '/api/v1/node');
  }

  /** ClusterStatus: detailed_cluster_status.overall_status is STABLE when the cluster is whole. */
  getClusterStatus(): Promise<{ mgmt_cluster_status?: { status?: string }; detailed_cluster_status?: { overall_status?: string } }> {
    return this.call('GET', '/api/v1/cluster/status');
  }

  getNodeVersion(): Promise<NodeVersion> {
    return this.call('GET', '/api/v1/node/version');
  }
}
