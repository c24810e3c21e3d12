import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import { listen, basicCredentials, type LabRequest, type LabResponse } from './http.js';
import type { CertAndKey } from './tls.js';
import { FaultState, faultControl } from './faults.js';
import { damage, uploadAsProduct, UploadError } from './sftp-upload.js';
import { nsxBackupFolderName, parseNsxBackupFolderName } from '../domain/backup-set.js';
import { withSftp } from '../providers/sftp/client.js';
import { defaultNsxState, policyApi, type NsxConfigState } from './nsx-config-state.js';
import { seal, unseal } from './sealed.js';
import { peekFingerprint } from './keyscan.js';
import type { BackupConfiguration, BackupOperationStatus, BackupTimestamp, ClusterRestoreStatus, CurrentBackupOperationStatus, RestoreConfiguration } from '../providers/nsx/types.js';

/**
 * NSX-T Manager backup API simulator (shared/api/nsx.md): basic auth, ApiError bodies, the
 * BackupConfiguration / status / history shapes, and a backup that really uploads over SFTP into
 * cluster-node-backups/<version>-<node>-<ip>/backup-<time>UTC/ and inventory-summary/.
 */
export interface NsxSimOptions {
  user: string;
  password: string;
  port?: number;
  version?: string;
  jobDurationMs?: number;
  /** A freshly deployed manager: no configuration until a restore loads one (default: the lab's sample configuration). */
  fresh?: boolean;
  /** Serve HTTPS with this certificate (the lab's); without it, plain HTTP. */
  tls?: CertAndKey;
}

const PASSPHRASE_RE = /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[^A-Za-z0-9]).{8,}$/;
const DIRECTORY_RE = /^\/[\w\-.+~/]+$/;
const FINGERPRINT_RE = /^SHA256:[A-Za-z0-9+/]{43}$/;

function apiError(status: number, httpStatus: string, code: number, message: string): LabResponse {
  return { status, body: { httpStatus, error_code: code, module_name: 'node-services', error_message: message, details: '', error_data: {}, related_errors: [] } };
}

export async function startNsxSimulator(opts: NsxSimOptions) {
  const faults = new FaultState();
  const version = opts.version ?? '4.2.1.0.0.24304122';
  let nodeId: string = randomUUID();
  let config: BackupConfiguration & { remote_file_server?: BackupConfiguration['remote_file_server'] } = { backup_enabled: false };
  let current: CurrentBackupOperationStatus = { operation_type: 'NONE' };
  const history: BackupOperationStatus[] = [];
  const inventory: BackupOperationStatus[] = [];
  let running: Promise<void> | undefined;
  /** The manager's configuration (Policy API); its backups carry it, sealed with the passphrase. */
  let state: NsxConfigState = opts.fresh ? { segments: [], tier0s: [], tier1s: [], policies: [] } : defaultNsxState();
  let putCount = 0;
  let backupsStarted = 0;

  const runBackup = async (backupId: string, start: number) => {
    const jobFaults = faults.takeJobFaults();
    const duration = faults.get().jobDurationMs ?? opts.jobDurationMs ?? 1500;
    const finish = (success: boolean, error_code?: string, error_message?: string) => {
      history.unshift({ backup_id: backupId, start_time: start, end_time: Date.now(), success, error_code, error_message });
      current = { operation_type: 'NONE' };
    };
    current = { operation_type: 'BACKUP', backup_id: backupId, start_time: start, current_step: 'BACKUP_CREATING_CLUSTER_BACKUP', current_step_message: 'Creating cluster backup' };
    await new Promise((r) => setTimeout(r, duration / 2));
    current = { ...current, current_step: 'BACKUP_CREATING_NODE_BACKUP', current_step_message: 'Creating node backup' };
    await new Promise((r) => setTimeout(r, duration / 2));
    if (jobFaults.failJob) return finish(false, jobFaults.failJob.code ?? 'BACKUP_GENERIC_ERROR', jobFaults.failJob.message);
    const rfs = config.remote_file_server!;
    const nodeDir = `${version}-${nodeId}-127.0.0.1`;
    const base = posix.join(rfs.directory_path, 'cluster-node-backups', nodeDir, nsxBackupFolderName(start));
    // The real backup is encrypted with the passphrase; the lab records its hash so a restore can tell a wrong one.
    const meta = Buffer.from(JSON.stringify({ backup_id: backupId, version, node_id: nodeId, start_time: start, encrypted: true, passphrase_sha256: sha256(config.passphrase ?? '') }));
    // The configuration as it is when the cluster backup is taken (the end of the job), sealed with the passphrase.
    const clusterBackup = seal({ version, node_id: nodeId, taken_at: Date.now(), state }, config.passphrase ?? '');
    const files = [
      { path: `${base}/cluster_backup.tar.enc`, data: clusterBackup },
      { path: `${base}/node_${nodeId}.tar.enc`, data: randomBytes(48 * 1024) },
      { path: `${base}/metadata.json`, data: damage(meta, jobFaults.upload === 'corrupt' ? 'corrupt' : 'ok') },
      {
        path: posix.join(rfs.directory_path, 'inventory-summary', nodeDir, `inventory-${start}.json`),
        data: Buffer.from(JSON.stringify({ timestamp: start, summary: gzipSync(randomBytes(64)).toString('base64') })),
      },
    ];
    if (jobFaults.upload === 'truncate') files[0]!.data = Buffer.alloc(0);
    // Cut short at the node backup: the cluster backup is on the target whole, the node backup half, no metadata.
    const interrupt = jobFaults.upload === 'disconnect' ? { how: 'disconnect' as const, at: 1 } : jobFaults.targetFull ? { how: 'full' as const, at: 1 } : undefined;
    try {
      await uploadAsProduct({
        interrupt,
        host: rfs.server,
        port: rfs.port,
        user: rfs.protocol.authentication_scheme.username,
        password: rfs.protocol.authentication_scheme.password ?? '',
        pinnedFingerprint: jobFaults.badFingerprint ? 'SHA256:' + randomBytes(32).toString('base64').replace(/=+$/, '') : rfs.protocol.ssh_fingerprint,
        files,
      });
      inventory.unshift({ backup_id: randomUUID(), start_time: start, end_time: Date.now(), success: true });
      finish(true);
    } catch (err) {
      const code = err instanceof UploadError ? err.code : 'GENERIC';
      const map: Record<string, [string, string]> = {
        BAD_FINGERPRINT: ['BACKUP_BAD_FINGERPRINT', 'The SSH fingerprint of the backup server does not match the configured fingerprint.'],
        AUTH: ['BACKUP_AUTHENTICATION_FAILURE', 'Authentication to the backup server failed.'],
        UNREACHABLE: ['BACKUP_SERVER_UNREACHABLE', 'The backup server is unreachable.'],
        PERMISSION: ['BACKUP_PERMISSION_ERROR', 'Permission denied writing to the backup directory.'],
        // (confirm) the codes and words NSX uses for a transfer cut off, and for a write the server refuses (a full disk).
        CONNECTION_LOST: ['BACKUP_SERVER_UNREACHABLE', `The connection to the backup server was lost during the upload: ${(err as Error).message}.`],
        WRITE_FAILED: ['BACKUP_GENERIC_ERROR', `Failed to upload the backup to the backup server: ${(err as Error).message}.`],
        GENERIC: ['BACKUP_GENERIC_ERROR', (err as Error).message],
      };
      const [c, m] = map[code]!;
      finish(false, c, m);
    }
  };

  let restoreConfig: RestoreConfiguration | undefined;
  let restore: ClusterRestoreStatus = { status: { value: 'INITIAL' } };
  let advance: (() => void) | undefined;
  /** The backups on the restore source: cluster-node-backups/<version>-<node>-<ip>/backup-<time>UTC/metadata.json. */
  type OnServer = BackupTimestamp & { folder: string; meta: { version?: string; passphrase_sha256?: string } };
  const backupsOnServer = async (rc: RestoreConfiguration): Promise<OnServer[]> => {
    const r = rc.remote_file_server;
    const root = posix.join(r.directory_path, 'cluster-node-backups');
    return withSftp({ host: r.server, port: r.port, user: r.protocol.authentication_scheme.username, password: r.protocol.authentication_scheme.password, hostKeyFingerprint: r.protocol.ssh_fingerprint }, async (c) => {
      const out: OnServer[] = [];
      for (const node of await c.list(root)) {
        const m = /-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-([\d.]+)$/i.exec(node.name);
        if (!m) continue;
        for (const b of await c.list(posix.join(root, node.name))) {
          const at = parseNsxBackupFolderName(b.name);
          const meta = at === undefined ? undefined : await c.readTextIfPresent(posix.join(root, node.name, b.name, 'metadata.json'));
          // A backup whose metadata is missing or unreadable (cut off, damaged) is not offered for restore; the others still are.
          const parsed = meta ? parseJson(meta) : undefined;
          if (at !== undefined && parsed) out.push({ timestamp: at, node_id: m[1]!, ip_address: m[2]!, restore_type: ['CLUSTER_RESTORE'], folder: posix.join(root, node.name, b.name), meta: parsed });
        }
      }
      return out.sort((a, b) => b.timestamp - a.timestamp);
    });
  };
  /** RUNNING, then SUSPENDED_FOR_USER_ACTION until the operator answers, then RUNNING to SUCCESS (or FAILED with failJob). */
  /** The configuration a backup carries: its cluster backup, opened with the passphrase (a damaged file or a wrong passphrase fails). */
  const configIn = async (rc: RestoreConfiguration, from: OnServer): Promise<NsxConfigState> => {
    const r = rc.remote_file_server;
    const data = await withSftp({ host: r.server, port: r.port, user: r.protocol.authentication_scheme.username, password: r.protocol.authentication_scheme.password, hostKeyFingerprint: r.protocol.ssh_fingerprint }, (c) =>
      c.readFile(posix.join(from.folder, 'cluster_backup.tar.enc')),
    );
    return unseal<{ state: NsxConfigState }>(data, rc.passphrase).state;
  };
  const runRestore = (from: OnServer, restored: Promise<NsxConfigState>) => {
    const jobFaults = faults.takeJobFaults();
    const duration = faults.get().jobDurationMs ?? opts.jobDurationMs ?? 1500;
    const started = Date.now();
    const mine: ClusterRestoreStatus = { status: { value: 'RUNNING' }, step: { step_number: 1, value: 'Restoring the cluster configuration' }, total_steps: 4, restore_start_time: started, backup_timestamp: from.timestamp };
    restore = mine;
    const live = () => restore === mine && mine.status.value !== 'ABORTED';
    setTimeout(() => {
      if (!live()) return;
      if (jobFaults.restoreSuspended) {
        // A step that failed: NSX suspends the restore, saying why, until the operator retries or cancels it.
        restore = { ...mine, status: { value: 'SUSPENDED', description: jobFaults.restoreSuspended.description }, step: { step_number: 2, value: 'Checking the fabric nodes' } };
        return;
      }
      // (confirm) the instruction ids NSX uses; the shape is {id, name, fields, data}.
      restore = { ...mine, status: { value: 'SUSPENDED_FOR_USER_ACTION', description: 'Waiting for the operator' }, step: { step_number: 2, value: 'Checking the fabric nodes' }, instructions: [{ id: 'CONFIRM_FABRIC_NODES', name: 'Confirm that the transport nodes listed are reachable, then continue', fields: ['node_id', 'display_name'], data: [{ node_id: 'tn-esx-01', display_name: 'esx-01.lab.local' }] }] };
      const suspended = restore;
      advance = () => {
        if (restore !== suspended) return;
        restore = { ...suspended, status: { value: 'RUNNING' }, step: { step_number: 3, value: 'Restoring the node' }, instructions: undefined };
        const resumed = restore;
        setTimeout(async () => {
          if (restore !== resumed) return;
          if (jobFaults.failJob) {
            restore = { ...resumed, status: { value: 'FAILED', description: jobFaults.failJob.message }, restore_end_time: Date.now() };
            return;
          }
          try {
            state = await restored;
            nodeId = from.node_id; // the restored manager takes the backed-up node's identity
            restore = { ...resumed, status: { value: 'SUCCESS' }, step: { step_number: 4, value: 'Restore completed' }, restore_end_time: Date.now() };
          } catch (err) {
            restore = { ...resumed, status: { value: 'FAILED', description: `The cluster backup could not be restored: ${(err as Error).message}` }, restore_end_time: Date.now() };
          }
        }, duration / 2);
      };
    }, duration / 2);
  };

  const handle = async (req: LabRequest): Promise<LabResponse> => {
    const control = faultControl(faults, req);
    if (control) return control;
    const creds = basicCredentials(req.headers.authorization);
    if (faults.get().unauthorized) return apiError(401, 'UNAUTHORIZED', 401, 'Authentication required (session expired).');
    if (!creds || creds.user !== opts.user || creds.password !== opts.password) {
      return apiError(403, 'FORBIDDEN', 403, 'The credentials were incorrect or the account specified has been locked.');
    }
    if (faults.takeServerError()) return apiError(503, 'SERVICE_UNAVAILABLE', 503, 'Some appliance components are not functioning properly.');
    // NSX's API rate limit (per client, requests per second) answers 429 (confirm: the error_code NSX gives with it).
    const retryAfter = faults.takeRateLimit();
    if (retryAfter !== undefined) return { ...apiError(429, 'TOO_MANY_REQUESTS', 429, 'Client API rate limit exceeded. Retry the request later.'), headers: { 'retry-after': String(retryAfter) } };
    const policy = policyApi(() => state, req);
    if (policy) return policy;
    const route = `${req.method} ${req.path}${req.query.get('action') ? `?action=${req.query.get('action')}` : ''}`;
    switch (route) {
      case 'GET /api/v1/node':
        return { status: 200, body: { node_uuid: nodeId, hostname: 'nsxmgr-01.lab.local', node_version: version, product_version: version } };
      case 'GET /api/v1/cluster/status': {
        const restoring = ['RUNNING', 'SUSPENDED_FOR_USER_ACTION'].includes(restore.status.value);
        const status = restoring ? 'UNSTABLE' : (faults.get().clusterStatus ?? 'STABLE');
        return { status: 200, body: { cluster_id: nodeId, mgmt_cluster_status: { status: restoring ? 'UNSTABLE' : 'STABLE' }, detailed_cluster_status: { overall_status: status } } };
      }
      case 'GET /api/v1/node/version':
        return { status: 200, body: { node_version: version, product_version: version } };
      case 'GET /api/v1/cluster/backups/config':
        return { status: 200, body: publicConfig(config) };
      case 'PUT /api/v1/cluster/backups/config': {
        const body = req.body as BackupConfiguration;
        const problem = validateConfig(body, config);
        if (problem) return apiError(400, 'BAD_REQUEST', 29107, problem);
        config = { ...body, passphrase: body.passphrase ?? config.passphrase };
        putCount += 1;
        return { status: 200, body: publicConfig(config) };
      }
      case 'POST /api/v1/cluster/backups?action=retrieve_ssh_fingerprint': {
        const b = req.body as { server?: string; port?: number };
        if (!b?.server) return apiError(400, 'BAD_REQUEST', 29108, 'Field level validation errors: {server=required property server is missing}');
        const port = Number(b.port ?? 22);
        try {
          const seen = faults.get().fingerprintSeenByNsx ?? (await peekFingerprint(b.server, port));
          return { status: 200, body: { server: b.server, port, ssh_fingerprint: seen } };
        } catch (err) {
          return apiError(400, 'BAD_REQUEST', 29109, `Unable to retrieve the SSH fingerprint of ${b.server}:${port}: ${(err as Error).message}`);
        }
      }
      case 'POST /api/v1/cluster?action=backup_to_remote': {
        if (!config.remote_file_server) return apiError(400, 'BAD_REQUEST', 29102, 'Backup configuration is not set. Configure a remote file server first.');
        if (current.operation_type === 'BACKUP') return apiError(400, 'BAD_REQUEST', 29110, 'A backup operation is already in progress.');
        const id = randomUUID();
        const start = Date.now();
        current = { operation_type: 'BACKUP', backup_id: id, start_time: start, current_step: 'BACKUP_CREATING_CLUSTER_BACKUP' };
        running = runBackup(id, start);
        backupsStarted++;
        // Whether NSX answers at once or when the backup ends is not documented (shared/api/nsx.md): a slow answer, the backup running all the same.
        const delay = faults.get().startDelayMs;
        if (delay) await new Promise((r) => setTimeout(r, delay));
        return { status: 200 };
      }
      case 'GET /api/v1/cluster/backups/status':
        return { status: 200, body: current };
      case 'GET /api/v1/cluster/backups/history':
        return { status: 200, body: { cluster_backup_statuses: history, node_backup_statuses: history, inventory_backup_statuses: inventory } };
      case 'PUT /api/v1/cluster/restore/config': {
        const body = req.body as RestoreConfiguration;
        const problem = validateConfig({ backup_enabled: false, ...body }, { backup_enabled: false });
        if (problem) return apiError(400, 'BAD_REQUEST', 29107, problem);
        restoreConfig = body;
        return { status: 200, body: { remote_file_server: publicConfig({ backup_enabled: false, remote_file_server: body.remote_file_server }).remote_file_server } };
      }
      case 'GET /api/v1/cluster/restore/backuptimestamps': {
        if (!restoreConfig) return apiError(400, 'BAD_REQUEST', 29200, 'Restore configuration is not set: PUT /api/v1/cluster/restore/config first.');
        try {
          return { status: 200, body: { results: (await backupsOnServer(restoreConfig)).map(({ meta: _m, ...t }) => t) } };
        } catch (err) {
          return apiError(400, 'BAD_REQUEST', 29201, `The backup server could not be read: ${(err as Error).message}`);
        }
      }
      case 'POST /api/v1/cluster/restore?action=start': {
        if (!restoreConfig) return apiError(400, 'BAD_REQUEST', 29200, 'Restore configuration is not set: PUT /api/v1/cluster/restore/config first.');
        if (['RUNNING', 'SUSPENDED_FOR_USER_ACTION'].includes(restore.status.value)) return apiError(400, 'BAD_REQUEST', 29202, 'A restore is already in progress.');
        const b = req.body as { node_id?: string; timestamp?: number };
        const found = (await backupsOnServer(restoreConfig).catch(() => [])).find((t) => t.node_id === b.node_id && t.timestamp === b.timestamp);
        if (!found) return apiError(400, 'BAD_REQUEST', 29203, `No backup of node ${b.node_id} at ${b.timestamp} on the backup server.`);
        if (found.meta.passphrase_sha256 && found.meta.passphrase_sha256 !== sha256(restoreConfig.passphrase)) return apiError(400, 'BAD_REQUEST', 29204, 'The passphrase is incorrect: the backup cannot be decrypted.');
        const restored = configIn(restoreConfig, found);
        restored.catch(() => undefined); // read now, failed (if at all) when the restore gets there
        runRestore(found, restored);
        return { status: 200, body: restore };
      }
      case 'GET /api/v1/cluster/restore/status':
        return { status: 200, body: restore };
      case 'POST /api/v1/cluster/restore?action=advance': {
        if (restore.status.value !== 'SUSPENDED_FOR_USER_ACTION') return apiError(400, 'BAD_REQUEST', 29205, `The restore is ${restore.status.value}, not waiting for an action.`);
        const data = (req.body as { data?: { id?: string }[] })?.data ?? [];
        const missing = (restore.instructions ?? []).filter((i) => !data.some((d) => d.id === i.id));
        if (missing.length) return apiError(400, 'BAD_REQUEST', 29206, `Answer every instruction: ${missing.map((i) => i.id).join(', ')}.`);
        advance?.();
        return { status: 200, body: restore };
      }
      case 'POST /api/v1/cluster/restore?action=cancel':
        if (['RUNNING', 'SUSPENDED_FOR_USER_ACTION'].includes(restore.status.value)) restore = { ...restore, status: { value: 'ABORTED' }, instructions: undefined, restore_end_time: Date.now() };
        return { status: 200, body: restore };
      case 'GET /api/v1/cluster/backups/overview':
        return { status: 200, body: { backup_config: publicConfig(config), current_backup_operation_status: current, backup_operation_history: { cluster_backup_statuses: history } } };
      default:
        return apiError(404, 'NOT_FOUND', 404, `The requested URI: ${req.path} could not be found.`);
    }
  };

  const server = await listen(handle, { port: opts.port, tls: opts.tls });
  return {
    url: server.url,
    faults,
    /** How often the backup configuration was written (for idempotence checks). */
    configWrites: () => putCount,
    /** How many backups were started through the API. */
    backupsStarted: () => backupsStarted,
    idle: async () => running,
    /** Deployed anew (a drill sandbox's redeploy): no configuration, no restore. */
    redeploy: () => {
      state = { segments: [], tier0s: [], tier1s: [], policies: [] };
      restore = { status: { value: 'INITIAL' } };
      restoreConfig = undefined;
      advance = undefined;
    },
    /** The manager's configuration now (segments, gateways, firewall policies). */
    configState: () => structuredClone(state),
    close: async () => {
      await running?.catch(() => undefined);
      await server.close();
    },
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const parseJson = (text: string): Record<string, string> | undefined => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

/** The GET never returns the SFTP password or the passphrase. */
function publicConfig(c: BackupConfiguration): BackupConfiguration {
  const { passphrase: _p, ...rest } = c;
  if (!rest.remote_file_server) return rest;
  const { password: _pw, ...scheme } = rest.remote_file_server.protocol.authentication_scheme;
  return { ...rest, remote_file_server: { ...rest.remote_file_server, protocol: { ...rest.remote_file_server.protocol, authentication_scheme: scheme as typeof rest.remote_file_server.protocol.authentication_scheme } } };
}

function validateConfig(b: BackupConfiguration | undefined, existing: BackupConfiguration): string | undefined {
  if (!b || typeof b.backup_enabled !== 'boolean') return 'Field level validation errors: {backup_enabled=required property backup_enabled is missing}';
  const r = b.remote_file_server;
  if (!r) return undefined;
  if (!DIRECTORY_RE.test(r.directory_path ?? '')) return `Field level validation errors: {directory_path=Invalid directory path ${r.directory_path}}`;
  if (r.protocol?.protocol_name !== 'sftp') return 'Field level validation errors: {protocol_name=only sftp is supported}';
  if (!FINGERPRINT_RE.test(r.protocol.ssh_fingerprint ?? '')) return 'Invalid SSH fingerprint: provide the SHA256 fingerprint of the server ECDSA key.';
  const auth = r.protocol.authentication_scheme;
  if (auth?.scheme_name !== 'PASSWORD' || !auth.username || !auth.password) return 'Field level validation errors: {authentication_scheme=username and password are required}';
  const passphrase = b.passphrase ?? existing.passphrase;
  if (!passphrase || !PASSPHRASE_RE.test(passphrase)) {
    return 'Passphrase must be at least 8 characters long and contain upper case, lower case, numeric and special characters.';
  }
  return undefined;
}
