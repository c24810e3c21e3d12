import { HttpError, HttpTimeoutError, basicAuth, send, type HttpRequest } from '../http.js';
import type { NsxEndpoint } from '../nsx/client.js';
import { tlsOf } from '../tls.js';
import { errorText, ftpSettingsXml, parseBackupList, parseFtpSettings, parseXml, type BackupFileProperties, type FtpSettings } from './xml.js';

const BR = '/api/1.0/appliance-management/backuprestore';

/** Client of the NSX for vSphere 6.4 appliance-management API: XML, HTTP basic auth. */
export class NsxvClient {
  constructor(private readonly ep: NsxEndpoint) {}

  private async call(method: HttpRequest['method'], path: string, body?: string, timeoutMs?: number): Promise<string> {
    const url = new URL(path, this.ep.url).toString();
    // NSX-V refuses a POST without this header even when it has no body (shared/api/nsx.md).
    const headers: Record<string, string> = { authorization: basicAuth(this.ep.user, this.ep.password), accept: 'application/xml' };
    if (body !== undefined || method === 'POST') headers['content-type'] = 'application/xml';
    const res = await send({ method, url, body, headers, timeoutMs, ...tlsOf(this.ep), product: 'NSX Manager (NSX-V)' });
    if (res.status >= 400) throw new HttpError('NSX Manager (NSX-V)', method, url, res.status, errorText(res.text) ?? res.text.slice(0, 300));
    return res.text;
  }

  async getFtpSettings(): Promise<Partial<FtpSettings> | undefined> {
    const doc = parseXml(await this.call('GET', `${BR}/backupsettings`));
    return parseFtpSettings(doc.backupRestoreSettings?.ftpSettings);
  }

  async putFtpSettings(s: FtpSettings): Promise<void> {
    await this.call('PUT', `${BR}/backupsettings/ftpsettings`, ftpSettingsXml(s));
  }

  /**
   * An on-demand backup. NSX-V answers when the backup has been written (or failed); a long one
   * may outlast `timeoutMs`, which is tolerated: the caller then looks for the file in the list.
   */
  async backup(timeoutMs = 15_000): Promise<'done' | 'timed-out'> {
    try {
      await this.call('POST', `${BR}/backup`, undefined, timeoutMs);
      return 'done';
    } catch (err) {
      if (err instanceof HttpTimeoutError) return 'timed-out';
      throw err;
    }
  }

  async listBackups(): Promise<BackupFileProperties[]> {
    return parseBackupList(await this.call('GET', `${BR}/backups`));
  }

  /** Restores a backup file from the configured server; the manager restarts its services after it. */
  async restore(fileName: string, timeoutMs: number): Promise<'done' | 'timed-out'> {
    try {
      await this.call('POST', `${BR}/restore?restoreFile=${encodeURIComponent(fileName)}`, undefined, timeoutMs);
      return 'done';
    } catch (err) {
      if (err instanceof HttpTimeoutError) return 'timed-out';
      throw err;
    }
  }

  /** (confirm) GET /api/1.0/appliance-management/global/info → versionInfo {majorVersion, minorVersion, patchVersion, buildNumber}. */
  async version(): Promise<string> {
    const v = parseXml(await this.call('GET', '/api/1.0/appliance-management/global/info')).globalInfo?.versionInfo ?? {};
    return `${v.majorVersion}.${v.minorVersion}.${v.patchVersion}${v.buildNumber ? `.${v.buildNumber}` : ''}`;
  }

  /** A raw XML GET of the inventory APIs (edges, virtual wires, firewall). */
  async getXml(path: string): Promise<Record<string, any>> {
    return parseXml(await this.call('GET', path));
  }
}
