/** The backup-set manifest: what a coordinated backup wrote, and proof that it was verified. */
import type { CapturedInventory } from './inventory.js';

export const MANIFEST_NAME = 'backup-set.json';

/** Where each product writes below the target directory. NSX's directory holds only NSX's files:
 * its own retention script fails when it finds anything else there. */
export function targetLayout(directory: string) {
  const base = directory.replace(/\/+$/, '');
  return {
    nsxDir: `${base}/nsx`,
    vcenterDir: `${base}/vcenter`,
    setsDir: `${base}/sets`,
    setDir: (setId: string) => `${base}/sets/${setId}`,
    manifestPath: (setId: string) => `${base}/sets/${setId}/${MANIFEST_NAME}`,
  };
}

export interface FileRecord {
  /** Relative to the target directory. */
  path: string;
  size: number;
  sha256: string;
}

/** What a run wrote. `deleting` is written by prune before it removes the set's files. */
export type SetStatus = 'running' | 'complete' | 'failed' | 'cancelled' | 'deleting';

export interface BackupSetManifest {
  schemaVersion: 1;
  setId: string;
  site: string;
  status: SetStatus;
  /** Bumped by every update made under the set's lock; absent on manifests of older versions. */
  revision?: number;
  failureReason?: string;
  startedAt: string;
  endedAt: string;
  /** When the run's execution timeout ends it (epoch ms): past this, a `running` set is abandoned. */
  runDeadline?: number;
  /** The status a set had before prune marked it `deleting`. */
  statusBeforeDeleting?: SetStatus;
  verifiedAt?: string;
  /** Re-verifications by `backup verify`, newest last (at most 20 kept). */
  verifications?: { at: string; ok: boolean; problems: string[] }[];
  workflow: { workflowId: string; runId: string };
  target: { host: string; port: number; directory: string; hostKeyFingerprint: string };
  /** Endpoints (config keys: vcenter, nsx, ibmCloud) whose certificate the run did not check (insecure: true). */
  insecureEndpoints?: string[];
  /** Recorded as soon as the run started it, whatever the outcome, so that retention frees it. */
  nsx?: {
    /** Absent: nsx-t (sets made before NSX-V was supported). */
    flavor?: 'nsx-t' | 'nsx-v';
    backupId?: string;
    startTime?: string;
    endTime?: string;
    productVersion?: string;
    /** Which secret reference encrypted the backup: never the value. */
    passphraseRef: string;
    /** The product folders this backup wrote (relative to the target), verified or not. */
    folders?: string[];
    /** Verified files (a complete set), or the files found after a failure (sha256 empty). */
    files: FileRecord[];
  };
  vcenter?: {
    jobId: string;
    startTime?: string;
    endTime?: string;
    version?: string;
    location: string;
    backupPasswordRef: string;
    folders?: string[];
    files: FileRecord[];
  };
  totals: { files: number; bytes: number };
  /** Linked IKS clusters as they were during the backup; their etcd is backed up by the provider. */
  iks?: IksRecord[];
  /** Things an operator should look at that did not fail the set (e.g. an unhealthy IKS master). */
  warnings?: string[];
  /** App owners' confirmations that they back up their application data, per cluster id. */
  appData?: Record<string, AppDataAck>;
  /** The configuration the backups should hold, read from the products as the backups began (restore drills compare with it). */
  captured?: CapturedInventory;
  /** The newest drill that restored this set and found what was captured. */
  restoreTested?: { at: string; drillRun: string };
  /** Restore drills of this set, newest last (at most 10 kept). */
  drills?: DrillRecord[];
}

export interface DrillRecord {
  at: string;
  drillRun: string;
  ok: boolean;
  /** What differed, or why the restore failed. */
  problems: string[];
}

export interface IksRecord {
  clusterId: string;
  name: string;
  region?: string;
  state: string;
  masterVersion: string;
  masterStatus: string;
  masterHealth: string;
  recordedAt: string;
  /** A record, not a backup we hold: etcd backups are part of the managed service. */
  etcdBackup: { managedBy: 'provider'; provider: 'IBM Cloud Kubernetes Service'; policy: string };
}

export interface AppDataAck {
  acknowledgedBy: string;
  at: string;
  evidence?: string;
  remindersSent: number;
  escalated: boolean;
}

export function totalsOf(...groups: (FileRecord[] | undefined)[]): { files: number; bytes: number } {
  const all = groups.flatMap((g) => g ?? []);
  return { files: all.length, bytes: all.reduce((n, f) => n + f.size, 0) };
}

/** A set id is a plain name (it becomes a folder under sets/): no separators, no dot-only names. */
const SET_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export function isPlainSetId(setId: string): boolean {
  return SET_ID_RE.test(setId) && !setId.includes('..');
}

/** The newest verification decides: a set whose latest re-verification failed is damaged. */
export function isDamaged(m: Pick<BackupSetManifest, 'verifications'>): boolean {
  return m.verifications?.at(-1)?.ok === false;
}

/**
 * What the catalog shows. A set is `complete` only while it is verified and its latest
 * verification passed (`damaged` otherwise); a `running` set whose run no longer runs is
 * `abandoned` (terminated, timed out, or its worker and server lost it).
 */
export type CatalogStatus = SetStatus | 'damaged' | 'abandoned';

/**
 * `runClosed`: what Temporal says of the set's run (true: it ended; false: it runs; undefined:
 * Temporal could not tell). Without an answer, a run past its recorded deadline is abandoned.
 */
export function catalogStatus(m: BackupSetManifest, runClosed: boolean | undefined, nowMs: number): CatalogStatus {
  if (m.status === 'complete') return m.verifiedAt && !isDamaged(m) ? 'complete' : 'damaged';
  if (m.status !== 'running') return m.status;
  if (runClosed === true) return 'abandoned';
  if (runClosed === undefined && m.runDeadline !== undefined && nowMs > m.runDeadline) return 'abandoned';
  return 'running';
}

/** The roots below the target that prune may delete in; nothing else is ever deleted. */
export const PRODUCT_ROOTS = ['nsx', 'vcenter'] as const;

/**
 * A path a manifest may list: relative, normalised (no `.`/`..`/empty segments, no backslash or
 * NUL) and under nsx/ or vcenter/ with at least one name below the root.
 */
export function isContainedProductPath(rel: string): boolean {
  if (typeof rel !== 'string' || rel.length === 0 || rel.length > 4096 || /[\\\0]/.test(rel)) return false;
  const parts = rel.split('/');
  if (parts.length < 2 || !(PRODUCT_ROOTS as readonly string[]).includes(parts[0]!)) return false;
  return parts.every((p) => p !== '' && p !== '.' && p !== '..');
}

/**
 * A product backup a manifest may record, recognised by the products' own naming: the folders
 * nsx/cluster-node-backups/<node>/backup-<time>UTC (NSX-T) and vcenter/…/<M|S>_<version>_<time>_<suffix>,
 * or the file nsx/<prefix><HH_MM_SS_DddDDMonYYYY> (NSX-V writes each backup as one file: that file
 * is its "folder"). Anything broader (nsx/, a node folder) is refused: deleting it would take other backups along.
 */
export function isProductBackupFolder(rel: string): boolean {
  if (!isContainedProductPath(rel)) return false;
  const parts = rel.split('/');
  const last = parts.at(-1)!;
  if (parts[0] === 'nsx') {
    if (parts.length === 2) return parseNsxvBackupFileName(last) !== undefined;
    return parts.length === 4 && parts[1] === 'cluster-node-backups' && parseNsxBackupFolderName(last) !== undefined;
  }
  return parts.length >= 2 && parts.length <= 5 && parseVcenterBackupFolderName(last) !== undefined;
}

/** The product backup a listed file belongs to (its folder, or for NSX-V the file itself), when it belongs to one. */
export function productFolderOf(rel: string): string | undefined {
  const parts = rel.split('/');
  for (let n = parts.length; n >= 2; n--) {
    const folder = parts.slice(0, n).join('/');
    if (isProductBackupFolder(folder)) return folder;
  }
  return undefined;
}

/** Set ids sort by time and name their site: "<site>-20261125T201500Z". */
export function makeSetId(site: string, at: Date): string {
  return `${site}-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/** NSX names a backup folder "backup-<YYYY-MM-DD>T<HH_MM_SS>UTC" after its start time. */
export function nsxBackupFolderName(startMs: number): string {
  const iso = new Date(startMs).toISOString();
  return `backup-${iso.slice(0, 10)}T${iso.slice(11, 19).replace(/:/g, '_')}UTC`;
}

/**
 * NSX writes an inventory summary with each backup (and on its own every inventory_summary_interval):
 * nsx/inventory-summary/<version>-<node>-<ip>/inventory-<epoch ms>.json. The one written during a
 * set's NSX job belongs to that set; the periodic ones are NSX's own retention's (nsx_backup_cleaner).
 */
export function parseNsxInventorySummaryName(name: string): number | undefined {
  const m = /^inventory-(\d{10,16})\.json$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function parseNsxBackupFolderName(name: string): number | undefined {
  const m = /^backup-(\d{4}-\d{2}-\d{2})T(\d{2})_(\d{2})_(\d{2})UTC$/.exec(name);
  return m ? Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`) : undefined;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** The prefix this tool sets on NSX-V (filenamePrefix): its backups are <prefix><HH_MM_SS_DddDDMonYYYY>. */
export const NSXV_FILENAME_PREFIX = 'nsx-';

/** NSX-V names a backup file "<prefix><HH_MM_SS_DddDDMonYYYY>" (e.g. nsx-14_05_09_Tue12Mar2019), in the manager's time (UTC here). */
export function nsxvBackupFileName(prefix: string, startMs: number): string {
  const d = new Date(startMs);
  return `${prefix}${two(d.getUTCHours())}_${two(d.getUTCMinutes())}_${two(d.getUTCSeconds())}_${DAYS[d.getUTCDay()]}${two(d.getUTCDate())}${MONTHS[d.getUTCMonth()]}${d.getUTCFullYear()}`;
}

export function parseNsxvBackupFileName(name: string): number | undefined {
  const m = /^[A-Za-z0-9._-]*?(\d{2})_(\d{2})_(\d{2})_(Sun|Mon|Tue|Wed|Thu|Fri|Sat)(\d{2})(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(\d{4})$/.exec(name);
  if (!m) return undefined;
  const t = Date.UTC(Number(m[7]), MONTHS.indexOf(m[6]!), Number(m[5]), Number(m[1]), Number(m[2]), Number(m[3]));
  return DAYS[new Date(t).getUTCDay()] === m[4] ? t : undefined;
}

/** vCenter names a backup folder "<M|S>_<version>_<YYYYMMDD>-<HHMMSS>_<suffix>". */
export function vcenterBackupFolderName(kind: 'M' | 'S', version: string, startMs: number, suffix: string): string {
  const iso = new Date(startMs).toISOString();
  return `${kind}_${version}_${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}_${suffix}`;
}

export function parseVcenterBackupFolderName(name: string): { kind: 'M' | 'S'; version: string; startMs: number } | undefined {
  const m = /^([MS])_(.+)_(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})_[^/]+$/.exec(name);
  if (!m) return undefined;
  return { kind: m[1] as 'M' | 'S', version: m[2]!, startMs: Date.parse(`${m[3]}-${m[4]}-${m[5]}T${m[6]}:${m[7]}:${m[8]}Z`) };
}

/**
 * The execution timeout of a backup run: the product jobs may take `backup.timeout`, then
 * verification streams every byte and retention runs, so the run gets the same again plus an
 * hour. Past it Temporal ends the run, and the catalog shows a set still `running` as abandoned.
 */
export function backupRunTimeoutMs(backupTimeoutMs: number): number {
  return 2 * backupTimeoutMs + 3_600_000;
}

/**
 * The lock name of a product endpoint: its kind, host and port ("nsx-nsxmgr.example.com-443").
 * Two sites that name the same NSX Manager share its lock. Parsed by hand: workflows use it too.
 */
export function endpointResource(kind: 'nsx' | 'vcenter', url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/]*@)?(\[[^\]]+\]|[^:/?#]+)(?::(\d+))?/i.exec(url.trim());
  const host = (m?.[2] ?? url).toLowerCase().replace(/[^a-z0-9.-]/g, '_');
  const port = m?.[3] ?? (m?.[1]?.toLowerCase() === 'http' ? '80' : '443');
  return `${kind}-${host}-${port}`;
}
