import { HttpError, basicAuth, errorDetail, parseJson, send, type HttpRequest } from '../http.js';
import { tlsOf, type EndpointTls } from '../tls.js';
import type { ApplianceVersion, BackupJobReturnResult, BackupJobStatus, BackupRequest, LocalizableMessage, RestoreJobStatus, RestoreRequest, VapiError } from './types.js';

export interface VcenterEndpoint extends EndpointTls {
  url: string;
  user: string;
  password: string;
}

/** The appliance refuses a second job while one runs; it is not a failure for us but "adopt it". */
export class BackupAlreadyRunningError extends Error {
  override readonly name = 'VcenterBackupAlreadyRunning';
}

/** Client of the vCenter appliance (VAMI) REST API, /api family, session-based. */
export class VcenterClient {
  private session?: string;
  constructor(private readonly ep: VcenterEndpoint) {}

  private async raw(method: HttpRequest['method'], path: string, body?: unknown, auth?: string) {
    const url = new URL(path, this.ep.url).toString();
    const call = () => {
      const headers: Record<string, string> = {};
      if (auth) headers.authorization = auth;
      else if (this.session) headers['vmware-api-session-id'] = this.session;
      return send({ method, url, body, headers, ...tlsOf(this.ep), product: 'vCenter appliance' });
    };
    let res = await call();
    // A session expires (idle timeout, a restart of the appliance's API service): log in again, once.
    if (res.status === 401 && !auth && this.session && !(method === 'DELETE' && path === '/api/session')) {
      await this.login();
      res = await call();
    }
    if (res.status >= 400) {
      const detail = errorDetail<VapiError>(res, (e) => (e?.messages?.length ? `${e.messages.map((m) => m.default_message).join('; ')} (${e.error_type ?? ''})` : undefined));
      if (res.status === 400 && /in progress|already running|feature_in_use/i.test(res.text)) {
        throw new BackupAlreadyRunningError(detail);
      }
      throw new HttpError('vCenter appliance', method, url, res.status, detail);
    }
    return parseJson<unknown>(res.text);
  }

  /** Sessions this client opened: one per client, unless the appliance expired one. */
  logins = 0;

  async login(): Promise<void> {
    this.logins += 1;
    this.session = (await this.raw('POST', '/api/session', undefined, basicAuth(this.ep.user, this.ep.password))) as string;
  }

  async logout(): Promise<void> {
    if (!this.session) return;
    await this.raw('DELETE', '/api/session').catch(() => undefined);
    this.session = undefined;
  }

  async startBackupJob(req: BackupRequest): Promise<BackupJobStatus> {
    return (await this.raw('POST', '/api/appliance/recovery/backup/job', req)) as BackupJobStatus;
  }

  async listJobIds(): Promise<string[]> {
    return (await this.raw('GET', '/api/appliance/recovery/backup/job')) as string[];
  }

  async getJob(id: string): Promise<BackupJobStatus> {
    return (await this.raw('GET', `/api/appliance/recovery/backup/job/${encodeURIComponent(id)}`)) as BackupJobStatus;
  }

  /** Asks the appliance to cancel a running job; it answers with a ReturnResult (OK, WARNING or FAIL). */
  async cancelJob(id: string): Promise<BackupJobReturnResult> {
    return (await this.raw('POST', `/api/appliance/recovery/backup/job/${encodeURIComponent(id)}?action=cancel`)) as BackupJobReturnResult;
  }

  /** On an appliance in restore mode: checks an archive (location, its login, the backup password) before anything changes. */
  async validateRestore(req: RestoreRequest): Promise<{ status: string; version: string; parts: string[]; messages: LocalizableMessage[] }> {
    return (await this.raw('POST', '/api/appliance/recovery/restore?action=validate', req)) as { status: string; version: string; parts: string[]; messages: LocalizableMessage[] };
  }

  async startRestore(req: RestoreRequest): Promise<RestoreJobStatus> {
    return (await this.raw('POST', '/api/appliance/recovery/restore/job', req)) as RestoreJobStatus;
  }

  async getRestoreJob(): Promise<RestoreJobStatus> {
    return (await this.raw('GET', '/api/appliance/recovery/restore/job')) as RestoreJobStatus;
  }

  async cancelRestore(): Promise<unknown> {
    return this.raw('POST', '/api/appliance/recovery/restore/job?action=cancel');
  }

  async getVersion(): Promise<ApplianceVersion> {
    return (await this.raw('GET', '/api/appliance/system/version')) as ApplianceVersion;
  }

  /** A vSphere Automation inventory list: /api/vcenter/datacenter, cluster or host (summaries). */
  async listInventory<T>(kind: 'datacenter' | 'cluster' | 'host'): Promise<T[]> {
    return (await this.raw('GET', `/api/vcenter/${kind}`)) as T[];
  }
}

export async function withVcenter<T>(ep: VcenterEndpoint, fn: (c: VcenterClient) => Promise<T>): Promise<T> {
  const c = new VcenterClient(ep);
  await c.login();
  try {
    return await fn(c);
  } finally {
    await c.logout();
  }
}
