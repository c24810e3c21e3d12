/** The backup-set manifest: what a coordinated backup wrote, and proof that it was verified. */

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

export type SetStatus = 'complete' | 'failed' | 'running';

export interface BackupSetManifest {
  schemaVersion: 1;
  setId: string;
  site: string;
  status: SetStatus;
  failureReason?: string;
  startedAt: string;
  endedAt: string;
  verifiedAt?: string;
  /** Re-verifications by `backup verify`, newest last (at most 20 kept). */
  verifications?: { at: string; ok: boolean; problems: string[] }[];
  workflow: { workflowId: string; runId: string };
  target: { host: string; port: number; directory: string; hostKeyFingerprint: string };
  nsx?: {
    backupId: string;
    startTime: string;
    endTime: string;
    productVersion?: string;
    /** Which secret reference encrypted the backup: never the value. */
    passphraseRef: string;
    files: FileRecord[];
  };
  vcenter?: {
    jobId: string;
    startTime?: string;
    endTime?: string;
    version?: string;
    location: string;
    backupPasswordRef: string;
    files: FileRecord[];
  };
  totals: { files: number; bytes: number };
  /** Linked IKS clusters as they were during the backup; their etcd is backed up by the provider. */
  iks?: IksRecord[];
  /** Things an operator should look at that did not fail the set (e.g. an unhealthy IKS master). */
  warnings?: string[];
  /** App owners' confirmations that they back up their application data, per cluster id. */
  appData?: Record<string, AppDataAck>;
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

/** Set ids sort by time and name their site: "<site>-20261125T201500Z". */
export function makeSetId(site: string, at: Date): string {
  return `${site}-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/** NSX names a backup folder "backup-<YYYY-MM-DD>T<HH_MM_SS>UTC" after its start time. */
export function nsxBackupFolderName(startMs: number): string {
  const iso = new Date(startMs).toISOString();
  return `backup-${iso.slice(0, 10)}T${iso.slice(11, 19).replace(/:/g, '_')}UTC`;
}

export function parseNsxBackupFolderName(name: string): number | undefined {
  const m = /^backup-(\d{4}-\d{2}-\d{2})T(\d{2})_(\d{2})_(\d{2})UTC$/.exec(name);
  return m ? Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`) : undefined;
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
