import { createHash, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { seal, unseal } from './sealed.js';
import { listen, basicCredentials, type LabRequest, type LabResponse } from './http.js';
import type { CertAndKey } from './tls.js';
import { FaultState, faultControl } from './faults.js';
import { damage, uploadAsProduct, UploadError } from './sftp-upload.js';
import { peekFingerprint } from './keyscan.js';
import { withSftp } from '../providers/sftp/client.js';
import { vcenterBackupFolderName } from '../domain/backup-set.js';
import type { BackupJobStatus, BackupRequest, LocalizableMessage, RestoreJobStatus, RestoreRequest } from '../providers/vcenter/types.js';

/**
 * vCenter appliance (VAMI) backup API simulator, /api family (shared/api/vcenter.md): session
 * login, BackupJobStatus, one job at a time, and a job that uploads
 * <location>/vCenter/sn_<fqdn>/M_<version>_<time>_<suffix>/ over SFTP.
 */
export interface VcenterSimOptions {
  user: string;
  password: string;
  port?: number;
  fqdn?: string;
  version?: string;
  build?: string;
  jobDurationMs?: number;
  /** The SOAP peer (govmomi simulator) served under this vCenter's /sdk, as one real vCenter serves both. */
  soapUrl?: string;
  /**
   * A freshly deployed appliance in restore mode (installer stage 1: Restore): only the restore API
   * answers until a restore job succeeds; then it is the restored vCenter (the archive's version).
   */
  restoreMode?: boolean;
  /** Serve HTTPS with this certificate (the lab's); without it, plain HTTP. */
  tls?: CertAndKey;
}

/** The small inventory the lab appliance keeps, in the vSphere Automation API's summary shapes (/api/vcenter/...). */
export interface ApplianceInventory {
  datacenters: { datacenter: string; name: string }[];
  clusters: { cluster: string; name: string; ha_enabled: boolean; drs_enabled: boolean }[];
  hosts: { host: string; name: string; connection_state: string; power_state: string }[];
}

export function defaultApplianceInventory(): ApplianceInventory {
  return {
    datacenters: [{ datacenter: 'datacenter-3', name: 'DC0' }],
    clusters: [{ cluster: 'domain-c8', name: 'DC0_C0', ha_enabled: true, drs_enabled: true }],
    hosts: [1, 2, 3].map((n) => ({ host: `host-${20 + n}`, name: `esx-0${n}.lab.local`, connection_state: 'CONNECTED', power_state: 'POWERED_ON' })),
  };
}


const BACKUP_PASSWORD_RE = /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[^A-Za-z0-9]).{8,20}$/;

function msg(id: string, text: string, args: string[] = []): LocalizableMessage {
  return { id, default_message: text, args };
}
function vapiError(status: number, type: string, text: string, id = `com.vmware.vapi.std.errors.${type.toLowerCase()}`): LabResponse {
  return { status, body: { error_type: type, messages: [msg(id, text)] } };
}

export async function startVcenterSimulator(opts: VcenterSimOptions) {
  const faults = new FaultState();
  let version = opts.version ?? '8.0.3.00400';
  let restoreMode = !!opts.restoreMode;
  /** Empty on an appliance deployed to be restored; a restore loads the archive's. */
  let inventory: ApplianceInventory = opts.restoreMode ? { datacenters: [], clusters: [], hosts: [] } : defaultApplianceInventory();
  let restoreJob: RestoreJobStatus = { state: 'NONE', progress: 0, messages: [] };
  const build = opts.build ?? '24322831';
  const fqdn = opts.fqdn ?? 'vcsa.lab.local';
  const sessions = new Set<string>();
  const jobs = new Map<string, BackupJobStatus & { location: string; comment?: string; size?: number }>();
  /** The appliance API takes no fingerprint: it trusts the key it first saw per server. */
  const knownHosts = new Map<string, string>();
  const running = new Set<Promise<void>>();
  let cancels = 0;
  let logins = 0;

  const runJob = async (job: BackupJobStatus & { location: string; size?: number }, req: BackupRequest) => {
    const jobFaults = faults.takeJobFaults();
    const duration = faults.get().jobDurationMs ?? opts.jobDurationMs ?? 2500;
    const steps = 5;
    for (let i = 1; i < steps; i++) {
      await new Promise((r) => setTimeout(r, duration / steps));
      if (job.state !== 'INPROGRESS') return; // cancelled
      job.progress = Math.round((i / steps) * 90);
    }
    await new Promise((r) => setTimeout(r, duration / steps));
    if (job.state !== 'INPROGRESS') return;
    const end = (state: 'SUCCEEDED' | 'FAILED', messages: LocalizableMessage[]) => {
      if (job.state !== 'INPROGRESS') return; // cancelled while uploading: the partial folder stays
      job.state = state;
      job.progress = 100;
      job.end_time = new Date().toISOString();
      job.messages = messages;
    };
    if (jobFaults.failJob) return end('FAILED', [msg('com.vmware.applmgmt.backup.job.failed', jobFaults.failJob.message)]);
    const url = new URL(job.location);
    const dir = `${decodeURIComponent(url.pathname)}/vCenter/sn_${fqdn}/${vcenterBackupFolderName('M', version, Date.parse(job.start_time!), randomBytes(3).toString('hex'))}`;
    const archive = (kb: number) => gzipSync(Buffer.concat([randomBytes(kb * 512), Buffer.alloc(kb * 512, 'vcsa')]));
    const parts = ['lotus_backup', 'config_files', 'database_full_backup', ...(req.parts.includes('seat') ? ['stats_events_tasks'] : [])];
    const files: { path: string; data: Buffer }[] = parts.map((p, i) => ({ path: `${dir}/${p}.tar.gz`, data: archive(32 + i * 16) }));
    // The inventory database as it is now, sealed with the backup password: what a restore loads.
    files[0]!.data = gzipSync(Buffer.concat([seal({ inventory }, req.backup_password ?? ''), randomBytes(16 * 1024)]));
    if (jobFaults.upload === 'truncate' || jobFaults.upload === 'corrupt') files[1]!.data = damage(files[1]!.data, jobFaults.upload);
    // Cut short at the database archive: two archives on the target whole, the third half, no metadata.
    const interrupt = jobFaults.upload === 'disconnect' ? { how: 'disconnect' as const, at: 2 } : jobFaults.targetFull ? { how: 'full' as const, at: 2 } : undefined;
    files.push({
      path: `${dir}/backup-metadata.json`,
      // The real archive is encrypted with the backup password; the lab records its hash so a restore can tell a wrong one.
      data: Buffer.from(JSON.stringify({ version, build, fqdn, type: 'MANUAL', parts: req.parts, comment: req.comment ?? '', encrypted: !!req.backup_password, backup_password_sha256: req.backup_password ? sha256(req.backup_password) : undefined, start_time: job.start_time })),
    });
    const host = url.hostname;
    const port = Number(url.port || 22);
    try {
      await uploadAsProduct({
        host,
        port,
        user: req.location_user,
        password: req.location_password,
        pinnedFingerprint: jobFaults.badFingerprint ? 'SHA256:' + randomBytes(32).toString('base64').replace(/=+$/, '') : knownHosts.get(`${host}:${port}`),
        files,
        interrupt,
      });
      job.size = files.reduce((n, f) => n + f.data.length, 0);
      end('SUCCEEDED', [msg('com.vmware.applmgmt.backup.job.finished', 'Backup job finished successfully.')]);
    } catch (err) {
      // (confirm) the appliance's words for a transfer cut off and for a write the server refuses (a full disk).
      if (err instanceof UploadError && (err.code === 'CONNECTION_LOST' || err.code === 'WRITE_FAILED')) {
        return end('FAILED', [msg('com.vmware.applmgmt.backup.job.upload_failed', err.code === 'CONNECTION_LOST' ? `Failed to transfer the backup to the location: ${err.message}.` : `Failed to write the backup to the location: ${err.message}. Check the free space on the backup server.`)]);
      }
      const text =
        err instanceof UploadError && err.code === 'BAD_FINGERPRINT'
          ? 'The host key of the backup server has changed. Verify the server and retry.'
          : err instanceof UploadError && err.code === 'AUTH'
            ? 'Authentication to the backup server failed. Check the user name and password.'
            : 'Location is not accessible. Check the path and the permissions of the backup user.';
      end('FAILED', [msg('com.vmware.applmgmt.err_access_denied', text)]);
    }
  };

  const handle = async (req: LabRequest): Promise<LabResponse> => {
    const control = faultControl(faults, req);
    if (control) return control;
    if (faults.takeServerError()) return vapiError(503, 'SERVICE_UNAVAILABLE', 'The appliance management service is not available.');
    if (req.method === 'POST' && req.path === '/api/session') {
      const c = basicCredentials(req.headers.authorization);
      if (faults.get().unauthorized || !c || c.user !== opts.user || c.password !== opts.password) {
        return vapiError(401, 'UNAUTHENTICATED', 'Authentication required.');
      }
      const id = randomBytes(16).toString('hex');
      sessions.add(id);
      logins += 1;
      return { status: 201, body: id };
    }
    if (faults.takeExpireSessions()) sessions.clear(); // the appliance restarted its API service, or its idle timeout passed
    const sid = req.headers['vmware-api-session-id'];
    if (faults.get().unauthorized || typeof sid !== 'string' || !sessions.has(sid)) return vapiError(401, 'UNAUTHENTICATED', 'Authentication required.');
    if (req.method === 'DELETE' && req.path === '/api/session') {
      sessions.delete(sid);
      return { status: 204 };
    }
    const restoreRoute = /^\/api\/appliance\/recovery\/restore(\/job)?$/.exec(req.path);
    if (restoreRoute) return restoreApi(req, !!restoreRoute[1]);
    if (restoreMode) return vapiError(503, 'SERVICE_UNAVAILABLE', 'The appliance is in restore mode: only the restore API is available until a restore completes.');
    const inventoryRoute = /^\/api\/vcenter\/(datacenter|cluster|host)$/.exec(req.path);
    if (req.method === 'GET' && inventoryRoute) return { status: 200, body: inventory[`${inventoryRoute[1]}s` as keyof ApplianceInventory] };
    if (req.method === 'GET' && req.path === '/api/appliance/system/version') {
      return { status: 200, body: { version, build, product: 'VMware vCenter Server', type: 'vCenter Server with an embedded Platform Services Controller', summary: '', releasedate: '', install_time: '' } };
    }
    const jobPath = /^\/api\/appliance\/recovery\/backup\/job(?:\/([^/]+))?$/.exec(req.path);
    if (!jobPath) return vapiError(404, 'NOT_FOUND', `Not found: ${req.path}`);
    const sub = jobPath[1] ? decodeURIComponent(jobPath[1]) : undefined;
    if (req.method === 'GET' && !sub) return { status: 200, body: [...jobs.keys()].reverse() };
    if (req.method === 'GET' && sub === 'details') {
      return {
        status: 200,
        body: Object.fromEntries(
          [...jobs.values()].map((j) => [j.id, { location: j.location, location_type: 'SFTP', type: 'MANUAL', status: j.state, progress: j.progress, size: j.size ?? 0, messages: j.messages, start_time: j.start_time, end_time: j.end_time }]),
        ),
      };
    }
    if (req.method === 'GET' && sub) {
      const j = jobs.get(sub);
      if (!j) return vapiError(404, 'NOT_FOUND', `Backup job ${sub} not found.`);
      return { status: 200, body: statusOf(j) };
    }
    if (req.method === 'POST' && sub && req.query.get('action') === 'cancel') {
      // Answers a Recovery Backup Job ReturnResult {status: OK|WARNING|FAIL, messages}. The job then
      // ends FAILED with a cancel message (confirm: the state the appliance reports after a cancel).
      const j = jobs.get(sub);
      if (!j) return vapiError(404, 'NOT_FOUND', `Backup job ${sub} not found.`);
      if (j.state !== 'INPROGRESS') return { status: 200, body: { status: 'FAIL', messages: [msg('com.vmware.applmgmt.backup.job.cancel.not_running', 'The backup job is not running.')] } };
      j.state = 'FAILED';
      j.end_time = new Date().toISOString();
      j.messages = [msg('com.vmware.applmgmt.backup.job.canceled', 'Backup job was canceled.')];
      cancels++;
      return { status: 200, body: { status: 'OK', messages: [msg('com.vmware.applmgmt.backup.job.cancel.ok', 'Cancel request accepted.')] } };
    }
    if (req.method === 'POST' && !sub) {
      const b = req.body as Partial<BackupRequest> | undefined;
      const bad = validateJob(b);
      if (bad) return vapiError(400, 'INVALID_ARGUMENT', bad);
      if ([...jobs.values()].some((j) => j.state === 'INPROGRESS')) {
        // (confirm) the exact error_type; the message is what operators see.
        return vapiError(400, 'RESOURCE_IN_USE', 'A backup or restore operation is already in progress.', 'com.vmware.applmgmt.backup.job.feature_in_use');
      }
      const loc = new URL(b!.location!);
      const key = `${loc.hostname}:${Number(loc.port || 22)}`;
      if (!knownHosts.has(key)) knownHosts.set(key, await peekFingerprint(loc.hostname, Number(loc.port || 22)).catch(() => ''));
      const now = new Date();
      const id = `${now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}-${build}`;
      const job = { id, state: 'INPROGRESS' as const, progress: 0, start_time: now.toISOString(), messages: [], location: b!.location!, comment: b!.comment };
      jobs.set(id, job);
      const p = runJob(job, b as BackupRequest).finally(() => running.delete(p));
      running.add(p);
      const delay = faults.get().startDelayMs;
      if (delay) await new Promise((r) => setTimeout(r, delay));
      return { status: 200, body: statusOf(job) };
    }
    return vapiError(404, 'NOT_FOUND', `Not found: ${req.method} ${req.path}`);
  };

  /** Reads the archive's metadata over SFTP, as the appliance does (trusting the server's key on first use). */
  const archiveOf = async (r: RestoreRequest): Promise<{ version: string; parts: string[]; backup_password_sha256?: string }> => {
    const url = new URL(r.location);
    const port = Number(url.port || 22);
    const hostKeyFingerprint = knownHosts.get(`${url.hostname}:${port}`) || (await peekFingerprint(url.hostname, port));
    const text = await withSftp({ host: url.hostname, port, user: r.location_user, password: r.location_password, hostKeyFingerprint }, (c) => c.readTextIfPresent(`${decodeURIComponent(url.pathname)}/backup-metadata.json`));
    if (!text) throw new Error('no backup-metadata.json at the location');
    return JSON.parse(text);
  };
  /** The inventory the archive holds: lotus_backup.tar.gz, opened with the backup password. */
  const archiveInventory = async (r: RestoreRequest): Promise<ApplianceInventory> => {
    const url = new URL(r.location);
    const port = Number(url.port || 22);
    const hostKeyFingerprint = knownHosts.get(`${url.hostname}:${port}`) || (await peekFingerprint(url.hostname, port));
    const data = await withSftp({ host: url.hostname, port, user: r.location_user, password: r.location_password, hostKeyFingerprint }, (c) => c.readFile(`${decodeURIComponent(url.pathname)}/lotus_backup.tar.gz`));
    const sealed = gunzipSync(data);
    return unseal<{ inventory: ApplianceInventory }>(sealed.subarray(0, sealed.length - 16 * 1024), r.backup_password ?? '').inventory;
  };
  const checkArchive = async (r: Partial<RestoreRequest> | undefined): Promise<{ error?: LabResponse; meta?: Awaited<ReturnType<typeof archiveOf>> }> => {
    if (!r || r.location_type !== 'SFTP' || !r.location || !r.location_user || !r.location_password) return { error: vapiError(400, 'INVALID_ARGUMENT', 'location_type SFTP, location, location_user and location_password are required.') };
    let meta;
    try {
      meta = await archiveOf(r as RestoreRequest);
    } catch {
      return { error: vapiError(400, 'INVALID_ARGUMENT', 'Location is not accessible or holds no backup. Check the path and the permissions of the backup user.') };
    }
    if (meta.backup_password_sha256 && meta.backup_password_sha256 !== sha256(r.backup_password ?? '')) return { error: vapiError(400, 'INVALID_ARGUMENT', 'The backup password is incorrect: the archive cannot be decrypted.') };
    return { meta };
  };
  /** POST restore?action=validate, POST restore/job, GET restore/job, POST restore/job?action=cancel. */
  const restoreApi = async (req: LabRequest, job: boolean): Promise<LabResponse> => {
    if (!job && req.method === 'POST' && req.query.get('action') === 'validate') {
      if (!restoreMode) return vapiError(400, 'NOT_ALLOWED_IN_CURRENT_STATE', 'The appliance is not in restore mode.');
      const { error, meta } = await checkArchive(req.body as Partial<RestoreRequest>);
      if (error) return error;
      return { status: 200, body: { status: 'OK', version: meta!.version, parts: meta!.parts, messages: [] } };
    }
    if (job && req.method === 'GET') return { status: 200, body: restoreJob };
    if (job && req.method === 'POST' && req.query.get('action') === 'cancel') {
      if (restoreJob.state !== 'INPROGRESS') return { status: 200, body: { status: 'FAIL', messages: [msg('com.vmware.applmgmt.restore.not_running', 'No restore is running.')] } };
      restoreJob = { ...restoreJob, state: 'FAILED', end_time: new Date().toISOString(), messages: [msg('com.vmware.applmgmt.restore.canceled', 'Restore was canceled.')] };
      return { status: 200, body: { status: 'OK', messages: [] } };
    }
    if (job && req.method === 'POST') {
      if (!restoreMode) return vapiError(400, 'NOT_ALLOWED_IN_CURRENT_STATE', 'The appliance is not in restore mode.');
      if (restoreJob.state === 'INPROGRESS') return vapiError(400, 'RESOURCE_IN_USE', 'A restore is already in progress.');
      const { error, meta } = await checkArchive(req.body as Partial<RestoreRequest>);
      if (error) return error;
      const jobFaults = faults.takeJobFaults();
      const body = req.body as RestoreRequest;
      const restored = archiveInventory(body);
      restored.catch(() => undefined); // failed (if at all) when the job gets there
      restoreJob = { state: 'INPROGRESS', progress: 0, start_time: new Date().toISOString(), messages: [] };
      const mine = restoreJob;
      const duration = faults.get().jobDurationMs ?? opts.jobDurationMs ?? 2500;
      const p = (async () => {
        for (let i = 1; i <= 4; i++) {
          await new Promise((r) => setTimeout(r, duration / 4));
          if (mine.state !== 'INPROGRESS') return;
          mine.progress = i * 25;
        }
        mine.end_time = new Date().toISOString();
        if (jobFaults.failJob) {
          mine.state = 'FAILED';
          mine.messages = [msg('com.vmware.applmgmt.restore.failed', jobFaults.failJob.message)];
          return;
        }
        try {
          inventory = await restored;
        } catch (err) {
          mine.state = 'FAILED';
          mine.messages = [msg('com.vmware.applmgmt.restore.failed', `The inventory database could not be restored: ${(err as Error).message}`)];
          return;
        }
        mine.state = 'SUCCEEDED';
        mine.messages = [msg('com.vmware.applmgmt.restore.finished', 'Restore finished successfully.')];
        version = meta!.version;
        restoreMode = false;
      })().finally(() => running.delete(p));
      running.add(p);
      return { status: 200, body: restoreJob };
    }
    return vapiError(404, 'NOT_FOUND', `Not found: ${req.method} ${req.path}`);
  };

  const server = await listen(handle, { port: opts.port, tls: opts.tls, through: { prefix: '/sdk', target: () => opts.soapUrl } });
  return {
    url: server.url,
    faults,
    jobCount: () => jobs.size,
    /** Jobs cancelled through the API, and whether any job is still running. */
    cancelCount: () => cancels,
    /** Sessions created (POST /api/session): what a client's polling costs the appliance. */
    loginCount: () => logins,
    jobRunning: () => [...jobs.values()].some((j) => j.state === 'INPROGRESS'),
    /** Whether the appliance still waits for a restore (restore mode). */
    inRestoreMode: () => restoreMode,
    /** Deployed anew (a drill sandbox's redeploy): restore mode, no inventory, no restore job. */
    redeploy: () => {
      restoreMode = true;
      inventory = { datacenters: [], clusters: [], hosts: [] };
      restoreJob = { state: 'NONE', progress: 0, messages: [] };
      version = opts.version ?? '8.0.3.00400';
    },
    /** The appliance's inventory now. */
    inventory: () => structuredClone(inventory),
    close: async () => {
      await Promise.allSettled([...running]);
      await server.close();
    },
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function statusOf(j: BackupJobStatus): BackupJobStatus {
  return { id: j.id, state: j.state, progress: j.progress, start_time: j.start_time, end_time: j.end_time, messages: j.messages };
}

function validateJob(b: Partial<BackupRequest> | undefined): string | undefined {
  if (!b || !Array.isArray(b.parts) || b.parts.length === 0) return 'parts: at least one part (common) is required.';
  if (!b.parts.includes('common')) return 'parts: the common part is required.';
  if (b.location_type !== 'SFTP') return `location_type ${String(b.location_type)} is not supported by this lab (SFTP only).`;
  let url: URL;
  try {
    url = new URL(b.location ?? '');
  } catch {
    return 'location: not a valid URL.';
  }
  if (url.protocol !== 'sftp:') return 'location: the URL scheme must match location_type SFTP.';
  if (!b.location_user || !b.location_password) return 'location_user and location_password are required for SFTP.';
  if (b.backup_password !== undefined && !BACKUP_PASSWORD_RE.test(b.backup_password)) {
    return 'backup_password must be 8-20 characters with at least one upper case, one lower case, one digit and one special character.';
  }
  return undefined;
}
