import { posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import { listen, basicCredentials, type LabRequest, type LabResponse } from './http.js';
import type { CertAndKey } from './tls.js';
import { FaultState, faultControl } from './faults.js';
import { damage, uploadAsProduct, UploadError } from './sftp-upload.js';
import { seal, unseal } from './sealed.js';
import { peekFingerprint } from './keyscan.js';
import { nsxvBackupFileName, parseNsxvBackupFileName } from '../domain/backup-set.js';
import { withSftp } from '../providers/sftp/client.js';
import { backupListXml, buildXml, errorXml, FTP_SETTINGS_ORDER, parseXml, type BackupFileProperties, type FtpSettings } from '../providers/nsxv/xml.js';

/**
 * NSX for vSphere 6.4 Manager simulator (shared/api/nsx.md, "NSX-V 6.4"): the XML
 * appliance-management backup API — settings (ftpsettings in their element order), on-demand
 * backup, the list of backups, restore — and the configuration the source document's estate runs:
 * edges (ESG, DLR), VXLAN logical switches (virtual wires) and distributed firewall rules. A backup
 * is one file, <backupDirectory>/<filenamePrefix><HH_MM_SS_DddDDMonYYYY>, written over SFTP and
 * sealed with the passphrase; a restore reads it back.
 *
 * (confirm) Not checked against a primary source: that POST .../backup and .../restore answer when
 * the work is done; GET /api/1.0/appliance-management/global/info for the version; whether a
 * backup also writes a .backupproperties companion file (the simulator writes one file).
 */
export interface NsxvSimOptions {
  user: string;
  password: string;
  port?: number;
  version?: { major: number; minor: number; patch: number; build: string };
  jobDurationMs?: number;
  /** A freshly deployed manager: no edges, switches or rules until a restore loads them. */
  fresh?: boolean;
  /** Serve HTTPS with this certificate (the lab's); without it, plain HTTP. */
  tls?: CertAndKey;
}

export interface NsxvState {
  edges: { objectId: string; name: string; edgeType: 'gatewayServices' | 'distributedRouter'; tenant?: string }[];
  virtualWires: { objectId: string; name: string; vdnId: number; controlPlaneMode: string }[];
  sections: { id: string; name: string; rules: { id: string; name: string; action: 'allow' | 'deny' | 'reject'; sources: string[]; destinations: string[]; services: string[] }[] }[];
}

export function defaultNsxvState(): NsxvState {
  return {
    edges: [
      { objectId: 'edge-1', name: 'esg-perimeter', edgeType: 'gatewayServices' },
      { objectId: 'edge-2', name: 'dlr-apps', edgeType: 'distributedRouter' },
    ],
    virtualWires: [
      { objectId: 'virtualwire-1', name: 'transit', vdnId: 5000, controlPlaneMode: 'UNICAST_MODE' },
      { objectId: 'virtualwire-2', name: 'web', vdnId: 5001, controlPlaneMode: 'UNICAST_MODE' },
      { objectId: 'virtualwire-3', name: 'app', vdnId: 5002, controlPlaneMode: 'UNICAST_MODE' },
      { objectId: 'virtualwire-4', name: 'db', vdnId: 5003, controlPlaneMode: 'UNICAST_MODE' },
    ],
    sections: [
      {
        id: '1001',
        name: 'Three-tier app',
        rules: [
          { id: '1', name: 'web to app', action: 'allow', sources: ['securitygroup-web'], destinations: ['securitygroup-app'], services: ['application-HTTPS'] },
          { id: '2', name: 'app to db', action: 'allow', sources: ['securitygroup-app'], destinations: ['securitygroup-db'], services: ['application-MySQL'] },
        ],
      },
      { id: '1002', name: 'Default Section Layer3', rules: [{ id: '1003', name: 'Default Rule', action: 'deny', sources: [], destinations: [], services: [] }] },
    ],
  };
}

const BR = '/api/1.0/appliance-management/backuprestore';
const xml = (status: number, text: string): LabResponse => ({ status, raw: { text, contentType: 'application/xml' } });
const err = (status: number, details: string, code: number) => xml(status, errorXml(details, code));

/** The element names of the root's children, in document order (the API checks the order). */
function childOrder(raw: string, root: string): string[] {
  const body = new RegExp(`<${root}>([\\s\\S]*)</${root}>`).exec(raw)?.[1] ?? '';
  return [...body.matchAll(/<([A-Za-z]+)>/g)].map((m) => m[1]!);
}

export async function startNsxvSimulator(opts: NsxvSimOptions) {
  const faults = new FaultState();
  const v = opts.version ?? { major: 6, minor: 4, patch: 14, build: '20609341' };
  const versionText = `${v.major}.${v.minor}.${v.patch}.${v.build}`;
  let state: NsxvState = opts.fresh ? { edges: [], virtualWires: [], sections: [] } : defaultNsxvState();
  let ftp: FtpSettings | undefined;
  let backupRunning = false;
  let restores = 0;
  let backupsStarted = 0;

  const server = (f: FtpSettings) => ({ host: f.hostNameIPAddress, port: f.port, user: f.userName, password: f.password ?? '' });
  const onServer = async (f: FtpSettings): Promise<BackupFileProperties[]> => {
    // NSX-V's FTP settings pin no host key: it takes the one the server offers.
    const fingerprint = await peekFingerprint(f.hostNameIPAddress, f.port);
    return withSftp({ ...server(f), hostKeyFingerprint: fingerprint }, async (c) => {
      if (!(await c.exists(f.backupDirectory))) return [];
      return (await c.list(f.backupDirectory))
        .filter((e) => e.type === '-' && e.name.startsWith(f.filenamePrefix) && parseNsxvBackupFileName(e.name) !== undefined)
        .map((e) => ({ fileName: e.name, fileSize: e.size, creationTime: parseNsxvBackupFileName(e.name)! }))
        .sort((a, b) => b.creationTime - a.creationTime);
    });
  };

  const handle = async (req: LabRequest): Promise<LabResponse> => {
    const control = faultControl(faults, req);
    if (control) return control;
    const creds = basicCredentials(req.headers.authorization);
    if (faults.get().unauthorized || !creds || creds.user !== opts.user || creds.password !== opts.password) return err(403, 'The credentials were incorrect or the account specified has been locked.', 130);
    if (faults.takeServerError()) return err(503, 'The NSX Management Service is not running.', 503);
    const xmlBody = /xml/.test(req.headers['content-type'] ?? '');
    switch (`${req.method} ${req.path}`) {
      case 'GET /api/1.0/appliance-management/global/info':
        return xml(200, buildXml('globalInfo', { currentLoggedInUser: creds.user, versionInfo: { majorVersion: String(v.major), minorVersion: String(v.minor), patchVersion: String(v.patch), buildNumber: v.build } }));
      case `GET ${BR}/backupsettings`: {
        const { password: _p, passPhrase: _pp, ...shown } = ftp ?? ({} as Partial<FtpSettings>);
        return xml(200, buildXml('backupRestoreSettings', { ...(ftp ? { ftpSettings: Object.fromEntries(FTP_SETTINGS_ORDER.filter((k) => (shown as Record<string, unknown>)[k] !== undefined).map((k) => [k, String((shown as Record<string, unknown>)[k])])) } : {}), backupFrequency: { frequency: 'DAILY', hourOfDay: '2', minuteOfHour: '0' } }));
      }
      case `PUT ${BR}/backupsettings/ftpsettings`: {
        if (!xmlBody) return err(415, 'Content-Type must be application/xml.', 415);
        const order = childOrder(req.rawBody, 'ftpSettings');
        const expected = FTP_SETTINGS_ORDER.filter((k) => order.includes(k));
        if (order.join() !== expected.join()) return err(400, `Invalid ftpSettings: elements out of order (got ${order.join(', ')}).`, 220);
        const s = parseXml(req.rawBody).ftpSettings ?? {};
        if (s.transferProtocol !== 'SFTP' && s.transferProtocol !== 'FTP') return err(400, 'transferProtocol must be FTP or SFTP.', 220);
        if (!s.hostNameIPAddress || !s.userName || !s.backupDirectory) return err(400, 'hostNameIPAddress, userName and backupDirectory are required.', 220);
        const passPhrase = s.passPhrase ?? ftp?.passPhrase;
        if (!passPhrase || String(passPhrase).length < 8) return err(400, 'The pass phrase must be at least 8 characters.', 220);
        ftp = {
          transferProtocol: s.transferProtocol,
          hostNameIPAddress: String(s.hostNameIPAddress),
          port: Number(s.port ?? 22),
          userName: String(s.userName),
          password: s.password !== undefined ? String(s.password) : ftp?.password,
          backupDirectory: String(s.backupDirectory),
          filenamePrefix: String(s.filenamePrefix ?? ''),
          passPhrase: String(passPhrase),
          passiveMode: String(s.passiveMode) === 'true',
          useEPRT: String(s.useEPRT) === 'true',
          useEPSV: String(s.useEPSV) === 'true',
        };
        return xml(200, '');
      }
      case `POST ${BR}/backup`: {
        if (!xmlBody) return err(415, 'Content-Type must be application/xml.', 415);
        if (!ftp) return err(400, 'Backup settings are not configured.', 221);
        if (backupRunning) return err(400, 'A backup or restore operation is already in progress.', 222);
        backupRunning = true;
        backupsStarted++;
        const start = Date.now();
        try {
          const jobFaults = faults.takeJobFaults();
          await new Promise((r) => setTimeout(r, faults.get().jobDurationMs ?? opts.jobDurationMs ?? 1500));
          if (jobFaults.failJob) return err(500, jobFaults.failJob.message, 223);
          let data: Buffer = Buffer.concat([seal({ version: versionText, taken_at: Date.now(), state }, ftp.passPhrase ?? ''), randomBytes(32 * 1024)]);
          if (jobFaults.upload && jobFaults.upload !== 'ok') data = damage(data, jobFaults.upload);
          const interrupt = jobFaults.upload === 'disconnect' ? { how: 'disconnect' as const, at: 0 } : jobFaults.targetFull ? { how: 'full' as const, at: 0 } : undefined;
          await uploadAsProduct({ ...server(ftp), files: [{ path: posix.join(ftp.backupDirectory, nsxvBackupFileName(ftp.filenamePrefix, start)), data }], interrupt });
          return xml(200, '');
        } catch (e) {
          return err(500, e instanceof UploadError ? `Backup to the remote server failed: ${e.message}` : (e as Error).message, 224);
        } finally {
          backupRunning = false;
        }
      }
      case `GET ${BR}/backups`:
        if (!ftp) return xml(200, backupListXml([]));
        try {
          return xml(200, backupListXml(await onServer(ftp)));
        } catch (e) {
          return err(500, `The backup server could not be read: ${(e as Error).message}`, 225);
        }
      case `POST ${BR}/restore`: {
        if (!xmlBody) return err(415, 'Content-Type must be application/xml.', 415);
        if (!ftp) return err(400, 'Backup settings are not configured: set the FTP/SFTP server to restore from first.', 221);
        const file = req.query.get('restoreFile');
        if (!file || !(await onServer(ftp).catch(() => [])).some((b) => b.fileName === file)) return err(400, `Backup file ${file} was not found on the backup server.`, 226);
        const jobFaults = faults.takeJobFaults();
        await new Promise((r) => setTimeout(r, faults.get().jobDurationMs ?? opts.jobDurationMs ?? 1500));
        if (jobFaults.failJob) return err(500, jobFaults.failJob.message, 227);
        try {
          const data = await withSftp({ ...server(ftp), hostKeyFingerprint: await peekFingerprint(ftp.hostNameIPAddress, ftp.port) }, (c) => c.readFile(posix.join(ftp!.backupDirectory, file)));
          const restored = unseal<{ version: string; state: NsxvState }>(data.subarray(0, data.length - 32 * 1024), ftp.passPhrase ?? '');
          if (restored.version !== versionText && req.query.get('forceRestore') !== 'true') return err(400, `The backup is of NSX ${restored.version}; this manager is ${versionText}. Deploy that version, or restore with forceRestore=true.`, 228);
          state = restored.state;
          restores++;
          return xml(200, '');
        } catch (e) {
          return err(500, `Restore failed: ${(e as Error).message}`, 229);
        }
      }
      case 'GET /api/4.0/edges':
        return xml(200, buildXml('pagedEdgeList', { edgePage: { pagingInfo: { pageSize: '256', startIndex: '0', totalCount: String(state.edges.length) }, edgeSummary: state.edges.map((e) => ({ objectId: e.objectId, name: e.name, edgeType: e.edgeType })) } }));
      case 'GET /api/2.0/vdn/virtualwires':
        return xml(200, buildXml('virtualWires', { dataPage: { pagingInfo: { pageSize: '1024', startIndex: '0', totalCount: String(state.virtualWires.length) }, virtualWire: state.virtualWires.map((w) => ({ objectId: w.objectId, name: w.name, vdnId: String(w.vdnId), controlPlaneMode: w.controlPlaneMode })) } }));
      case 'GET /api/4.0/firewall/globalroot-0/config':
        return xml(
          200,
          buildXml('firewallConfiguration', {
            layer3Sections: {
              section: state.sections.map((s) => ({
                '@_id': s.id,
                '@_name': s.name,
                rule: s.rules.map((r) => ({
                  '@_id': r.id,
                  '@_disabled': 'false',
                  name: r.name,
                  action: r.action,
                  ...(r.sources.length ? { sources: { '@_excluded': 'false', source: r.sources.map((value) => ({ value, type: 'SecurityGroup' })) } } : {}),
                  ...(r.destinations.length ? { destinations: { '@_excluded': 'false', destination: r.destinations.map((value) => ({ value, type: 'SecurityGroup' })) } } : {}),
                  ...(r.services.length ? { services: { service: r.services.map((value) => ({ value, type: 'Application' })) } } : {}),
                })),
              })),
            },
          }),
        );
      default:
        return err(404, `The requested URI ${req.path} was not found.`, 404);
    }
  };

  const srv = await listen(handle, { port: opts.port, tls: opts.tls });
  return {
    url: srv.url,
    faults,
    backupsStarted: () => backupsStarted,
    restoreCount: () => restores,
    configState: () => structuredClone(state),
    /** Changes the configuration as an operator would in the vSphere Client. */
    mutateState: (fn: (s: NsxvState) => void) => fn(state),
    redeploy: () => {
      state = { edges: [], virtualWires: [], sections: [] };
      ftp = undefined;
    },
    close: () => srv.close(),
  };
}
