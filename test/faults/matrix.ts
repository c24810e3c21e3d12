/**
 * The fault matrix (issue 20, deliverable 2): each lab fault × each step that can meet it → the
 * outcome the run must reach. ONE table: `matrix.test.ts` runs every row against the lab, and
 * `npm run faults:doc` prints it as docs/faults.md (from the compiled copy of this file, which is
 * why it holds data and pure functions only, and imports nothing but types).
 */
import type * as activities from '../../activities/index.js';
import type { Faults } from '../../src/lab/faults.js';
import type { VsphereFaults } from '../../src/lab/vsphere.js';
import type { VsFaults } from '../../src/lab/vmware-solutions.js';
import type { SftpFaults } from '../../src/lab/sftp-server.js';

/** The faults of the issue, in its words and order: every one has at least one row. */
export const FAULTS = [
  '5xx burst',
  '401',
  '429',
  'timeout',
  'job FAILED',
  'corrupted upload',
  'truncated upload',
  'SFTP disconnect mid-transfer',
  'target full',
  'SOAP fault at a step',
  'IBM order failure',
  'worker pool never healthy',
  'NSX restore suspended',
] as const;
export type FaultName = (typeof FAULTS)[number];

export type ActivityName = keyof typeof activities;

/** The workflow a row runs, against the lab site. */
export const SCENARIOS = {
  backup: 'coordinatedBackup of the lab site',
  addHosts: 'addHosts: 2 pinned hosts into DC0_C0, vCenter direct, no pre-change backup',
  addCluster: 'addCluster: cluster C-matrix with 2 pinned hosts, vCenter direct',
  addHostsIbm: 'addHosts: 2 hosts ordered from IBM Cloud for VMware Solutions (approved)',
  addClusterIbm: 'addCluster: a 2-host cluster ordered from IBM (approved)',
  expandIks: 'expandIks: pool default of lab-apps resized from 1 to 2 workers per zone',
  drill: 'restoreDrill: the newest complete set restored into the sandbox and compared',
} as const;
export type Scenario = keyof typeof SCENARIOS;

/** Where the fault goes: a simulator's `PUT /lab/faults` body (the SFTP server: its fault setter). */
export type Injection = (
  | { into: 'nsx' | 'vcenter' | 'iks' | 'sandboxNsx' | 'sandboxVcenter'; faults: Faults }
  | { into: 'vsphere'; faults: VsphereFaults }
  | { into: 'vmwareSolutions'; faults: VsFaults }
  | { into: 'sftp'; faults: SftpFaults }
) & {
  /** Set as this activity is first called (the run has reached the step); without it, before the run starts. */
  at?: ActivityName;
};

export type Expected =
  /**
   * The run completes. `activity` is where the fault landed; `by` says who rode it out: Temporal's
   * retry of that activity (a second attempt), or the activity itself without a retry (the
   * heartbeating wait, a provider client) — an attempt count of 1 is then part of the expectation.
   */
  | { kind: 'retried'; activity: ActivityName; by: 'activity retry' | 'inside the activity' }
  /** The run completes and records the problem as a warning (in the set's manifest). */
  | { kind: 'tolerated'; warning: RegExp }
  | {
      kind: 'failed';
      /** The ApplicationFailure type the run ends with (a drill: of the drill). */
      failure: string;
      says: RegExp;
      /** Backup: the set's manifest — none written (stopped before the set was opened), or `failed`. */
      manifest?: 'none' | 'failed';
      /** Backup: the half whose recorded folder holds the upload the product left cut off (no metadata file). */
      partial?: 'nsx' | 'vcenter';
      /** Scale-out: rolled back — this many compensations ran, none failed, the inventory is as before. */
      rollback?: { undone: number };
      /** Scale-out: refused before any change (no rollback needed), the inventory as before. */
      nothingChanged?: true;
      /** Drill: what the sandbox record says afterwards; the set is not restore-tested, its drill recorded failed. */
      sandbox?: 'dirty' | 'restored';
    };

export interface MatrixRow {
  fault: FaultName;
  /** The step the fault hits, as an operator names it. */
  step: string;
  scenario: Scenario;
  inject: Injection;
  /** Config for this row only (the worker reads the file at the start of every run). */
  config?: { workerPoolTimeout?: string };
  expect: Expected;
  /** Why the outcome is what it is, when the table alone does not say. */
  note?: string;
}

const JOB_FAILED_NSX = 'Backup of the node failed: the management plane is not running (lab fault)';
const JOB_FAILED_VC = 'BackupManager encountered an exception: the database export failed (lab fault)';

export const MATRIX: MatrixRow[] = [
  // ── coordinatedBackup ────────────────────────────────────────────────────────────────────────
  { fault: '5xx burst', step: 'preflight (NSX Manager)', scenario: 'backup', inject: { into: 'nsx', faults: { http5xx: 1 } }, expect: { kind: 'retried', activity: 'preflightProducts', by: 'activity retry' } },
  { fault: '5xx burst', step: 'NSX backup start', scenario: 'backup', inject: { into: 'nsx', faults: { http5xx: 2 }, at: 'startNsxBackup' }, expect: { kind: 'retried', activity: 'startNsxBackup', by: 'activity retry' } },
  { fault: '5xx burst', step: 'NSX job poll', scenario: 'backup', inject: { into: 'nsx', faults: { http5xx: 3 }, at: 'waitForNsxBackup' }, expect: { kind: 'retried', activity: 'waitForNsxBackup', by: 'inside the activity' } },
  { fault: '5xx burst', step: 'vCenter backup start', scenario: 'backup', inject: { into: 'vcenter', faults: { http5xx: 1 }, at: 'startVcenterBackup' }, expect: { kind: 'retried', activity: 'startVcenterBackup', by: 'activity retry' } },
  { fault: '5xx burst', step: 'vCenter job poll', scenario: 'backup', inject: { into: 'vcenter', faults: { http5xx: 3 }, at: 'waitForVcenterBackup' }, expect: { kind: 'retried', activity: 'waitForVcenterBackup', by: 'inside the activity' } },
  { fault: '401', step: 'preflight (NSX Manager)', scenario: 'backup', inject: { into: 'nsx', faults: { unauthorized: true } }, expect: { kind: 'failed', failure: 'AuthenticationFailed', says: /NSX.*401.*check the user and password reference/s, manifest: 'none' } },
  { fault: '401', step: 'preflight (vCenter)', scenario: 'backup', inject: { into: 'vcenter', faults: { unauthorized: true } }, expect: { kind: 'failed', failure: 'AuthenticationFailed', says: /at step "preflight".*check the user and password reference/, manifest: 'none' } },
  { fault: '401', step: 'vCenter job poll (session expired)', scenario: 'backup', inject: { into: 'vcenter', faults: { expireSessions: true }, at: 'waitForVcenterBackup' }, expect: { kind: 'retried', activity: 'waitForVcenterBackup', by: 'inside the activity' } },
  { fault: '401', step: 'IKS record of the linked cluster', scenario: 'backup', inject: { into: 'iks', faults: { unauthorized: true } }, expect: { kind: 'tolerated', warning: /lab-apps.*(401|token)/i }, note: 'the IKS record is informational: the backups of NSX and vCenter go on' },
  { fault: '429', step: 'IKS record of the linked cluster', scenario: 'backup', inject: { into: 'iks', faults: { rateLimit: { count: 2, retryAfterSeconds: 1 } } }, expect: { kind: 'retried', activity: 'recordIksClusters', by: 'inside the activity' } },
  { fault: '429', step: 'NSX backup start', scenario: 'backup', inject: { into: 'nsx', faults: { rateLimit: { count: 2, retryAfterSeconds: 1 } }, at: 'startNsxBackup' }, expect: { kind: 'retried', activity: 'startNsxBackup', by: 'activity retry' } },
  { fault: 'timeout', step: 'vCenter backup start', scenario: 'backup', inject: { into: 'vcenter', faults: { startDelayMs: 21_000 }, at: 'startVcenterBackup' }, expect: { kind: 'retried', activity: 'startVcenterBackup', by: 'activity retry' }, note: 'the answer outlives the activity\'s 20 s; the retry adopts the job the first attempt started: one job, not two' },
  { fault: 'job FAILED', step: 'NSX backup job', scenario: 'backup', inject: { into: 'nsx', faults: { failJob: { message: JOB_FAILED_NSX, code: 'BACKUP_GENERIC_ERROR' } } }, expect: { kind: 'failed', failure: 'NsxBackupFailed', says: /at step "waitNsx".*management plane is not running.*BACKUP_GENERIC_ERROR/, manifest: 'failed' } },
  { fault: 'job FAILED', step: 'vCenter backup job', scenario: 'backup', inject: { into: 'vcenter', faults: { failJob: { message: JOB_FAILED_VC } } }, expect: { kind: 'failed', failure: 'VcenterBackupFailed', says: /at step "waitVcenter".*database export failed/, manifest: 'failed' } },
  { fault: 'corrupted upload', step: 'verify of the NSX files', scenario: 'backup', inject: { into: 'nsx', faults: { upload: 'corrupt' } }, expect: { kind: 'failed', failure: 'VerificationFailed', says: /at step "verify".*metadata\.json: not valid JSON/, manifest: 'failed' } },
  { fault: 'corrupted upload', step: 'verify of the vCenter files', scenario: 'backup', inject: { into: 'vcenter', faults: { upload: 'corrupt' } }, expect: { kind: 'failed', failure: 'VerificationFailed', says: /config_files\.tar\.gz: damaged gzip stream/, manifest: 'failed' } },
  { fault: 'truncated upload', step: 'verify of the NSX files', scenario: 'backup', inject: { into: 'nsx', faults: { upload: 'truncate' } }, expect: { kind: 'failed', failure: 'VerificationFailed', says: /cluster_backup\.tar\.enc: empty file/, manifest: 'failed' } },
  { fault: 'truncated upload', step: 'verify of the vCenter files', scenario: 'backup', inject: { into: 'vcenter', faults: { upload: 'truncate' } }, expect: { kind: 'failed', failure: 'VerificationFailed', says: /config_files\.tar\.gz: damaged gzip stream/, manifest: 'failed' } },
  { fault: 'SFTP disconnect mid-transfer', step: 'NSX upload (the product\'s connection)', scenario: 'backup', inject: { into: 'nsx', faults: { upload: 'disconnect' } }, expect: { kind: 'failed', failure: 'NsxBackupFailed', says: /connection to the backup server was lost.*BACKUP_SERVER_UNREACHABLE/, manifest: 'failed', partial: 'nsx' } },
  { fault: 'SFTP disconnect mid-transfer', step: 'vCenter upload (the product\'s connection)', scenario: 'backup', inject: { into: 'vcenter', faults: { upload: 'disconnect' } }, expect: { kind: 'failed', failure: 'VcenterBackupFailed', says: /Failed to transfer the backup to the location: the connection .* was lost/, manifest: 'failed', partial: 'vcenter' } },
  { fault: 'SFTP disconnect mid-transfer', step: 'verify of the NSX files (our connection)', scenario: 'backup', inject: { into: 'sftp', faults: { dropReaderOf: '/nsx/cluster-node-backups/' }, at: 'verifyNsxBackup' }, expect: { kind: 'retried', activity: 'verifyNsxBackup', by: 'activity retry' }, note: 'the lab kills the sshd processes of the session reading a matching file: the TCP connection drops mid-read' },
  { fault: 'SFTP disconnect mid-transfer', step: 'verify of the vCenter files (our connection)', scenario: 'backup', inject: { into: 'sftp', faults: { dropReaderOf: '/vcenter/vCenter/sn_' }, at: 'verifyVcenterBackup' }, expect: { kind: 'retried', activity: 'verifyVcenterBackup', by: 'activity retry' } },
  { fault: 'target full', step: 'NSX upload', scenario: 'backup', inject: { into: 'nsx', faults: { targetFull: true } }, expect: { kind: 'failed', failure: 'NsxBackupFailed', says: /Failed to upload the backup to the backup server: write to .* failed: Failure.*BACKUP_GENERIC_ERROR/, manifest: 'failed', partial: 'nsx' } },
  { fault: 'target full', step: 'vCenter upload', scenario: 'backup', inject: { into: 'vcenter', faults: { targetFull: true } }, expect: { kind: 'failed', failure: 'VcenterBackupFailed', says: /write to .* failed: Failure\. Check the free space/, manifest: 'failed', partial: 'vcenter' } },

  // ── scale-out: vCenter direct ────────────────────────────────────────────────────────────────
  { fault: 'SOAP fault at a step', step: 'addHosts: AddHost_Task (SystemError)', scenario: 'addHosts', inject: { into: 'vsphere', faults: { failMethod: { name: 'AddHost_Task', call: 1, fault: 'SystemError' } } }, expect: { kind: 'retried', activity: 'addHostToCluster', by: 'activity retry' } },
  { fault: 'SOAP fault at a step', step: 'addHosts: AddHost_Task of the second host (InvalidState)', scenario: 'addHosts', inject: { into: 'vsphere', faults: { failMethod: { name: 'AddHost_Task', call: 2, fault: 'InvalidState' } } }, expect: { kind: 'failed', failure: 'ScaleOutRolledBack', says: /InvalidState/, rollback: { undone: 2 } } },
  { fault: 'SOAP fault at a step', step: 'addHosts: HA admission control (ReconfigureComputeResource_Task)', scenario: 'addHosts', inject: { into: 'vsphere', faults: { failMethod: { name: 'ReconfigureComputeResource_Task', call: 1, fault: 'InvalidState' } } }, expect: { kind: 'failed', failure: 'ScaleOutRolledBack', says: /InvalidState/, rollback: { undone: 3 } } },
  { fault: 'SOAP fault at a step', step: 'addCluster: CreateClusterEx (SystemError)', scenario: 'addCluster', inject: { into: 'vsphere', faults: { failMethod: { name: 'CreateClusterEx', call: 1, fault: 'SystemError' } } }, expect: { kind: 'retried', activity: 'createClusterIfAbsent', by: 'activity retry' } },
  { fault: 'SOAP fault at a step', step: 'addCluster: CreateClusterEx (InvalidState)', scenario: 'addCluster', inject: { into: 'vsphere', faults: { failMethod: { name: 'CreateClusterEx', call: 1, fault: 'InvalidState' } } }, expect: { kind: 'failed', failure: 'ScaleOutRolledBack', says: /InvalidState/, rollback: { undone: 1 } } },

  // ── scale-out: IBM Cloud ─────────────────────────────────────────────────────────────────────
  { fault: 'IBM order failure', step: 'addHosts: IBM host order', scenario: 'addHostsIbm', inject: { into: 'vmwareSolutions', faults: { failOrder: 'Hardware is not available in tok02.' } }, expect: { kind: 'failed', failure: 'ScaleOutRolledBack', says: /ended without esx-221, esx-222; IBM says: .*Hardware is not available/, rollback: { undone: 1 } } },
  { fault: 'IBM order failure', step: 'addCluster: IBM cluster order', scenario: 'addClusterIbm', inject: { into: 'vmwareSolutions', faults: { failOrder: 'Hardware is not available in tok02.' } }, expect: { kind: 'failed', failure: 'ScaleOutRolledBack', says: /ended without it; IBM says: .*Hardware is not available/, rollback: { undone: 1 } } },
  { fault: 'SOAP fault at a step', step: 'addHosts (IBM): HA admission control after the order', scenario: 'addHostsIbm', inject: { into: 'vsphere', faults: { failMethod: { name: 'ReconfigureComputeResource_Task', call: 1, fault: 'InvalidState' } } }, expect: { kind: 'failed', failure: 'ScaleOutRolledBack', says: /InvalidState/, rollback: { undone: 2 } } },
  { fault: '5xx burst', step: 'IKS worker-pool resize', scenario: 'expandIks', inject: { into: 'iks', faults: { http5xx: 2 }, at: 'changeWorkerPool' }, expect: { kind: 'retried', activity: 'changeWorkerPool', by: 'inside the activity' } },
  { fault: '429', step: 'IKS worker-pool wait', scenario: 'expandIks', inject: { into: 'iks', faults: { rateLimit: { count: 2, retryAfterSeconds: 1 } }, at: 'awaitWorkerPool' }, expect: { kind: 'retried', activity: 'awaitWorkerPool', by: 'inside the activity' } },
  { fault: '401', step: 'IKS pre-check', scenario: 'expandIks', inject: { into: 'iks', faults: { unauthorized: true } }, expect: { kind: 'failed', failure: 'AuthenticationFailed', says: /IBM Cloud Kubernetes Service.*401/, nothingChanged: true } },
  { fault: 'worker pool never healthy', step: 'IKS worker-pool wait', scenario: 'expandIks', inject: { into: 'iks', faults: { stallWorkers: 3 } }, config: { workerPoolTimeout: '6s' }, expect: { kind: 'failed', failure: 'ScaleOutRolledBack', says: /rolled back/, rollback: { undone: 1 } }, note: 'the new workers stay provisioning: the wait ends at ibmCloud.workerPool.timeout' },
  { fault: 'job FAILED', step: 'IKS worker provisioning', scenario: 'expandIks', inject: { into: 'iks', faults: { failWorkers: 1 } }, expect: { kind: 'failed', failure: 'ScaleOutRolledBack', says: /failed \(Infrastructure exception/, rollback: { undone: 1 } } },

  // ── restore drill into the sandbox ───────────────────────────────────────────────────────────
  { fault: 'NSX restore suspended', step: 'NSX restore', scenario: 'drill', inject: { into: 'sandboxNsx', faults: { restoreSuspended: { description: 'Restore of the fabric nodes failed: transport node tn-esx-01 is unreachable (lab fault)' } } }, expect: { kind: 'failed', failure: 'DrillFailed', says: /the NSX restore is SUSPENDED: Restore of the fabric nodes failed/, sandbox: 'dirty' } },
  { fault: 'job FAILED', step: 'vCenter restore job', scenario: 'drill', inject: { into: 'sandboxVcenter', faults: { failJob: { message: 'The restore of the inventory database failed (lab fault)' } } }, expect: { kind: 'failed', failure: 'DrillFailed', says: /the vCenter restore failed: The restore of the inventory database failed/, sandbox: 'dirty' } },
  { fault: 'job FAILED', step: 'NSX restore', scenario: 'drill', inject: { into: 'sandboxNsx', faults: { failJob: { message: 'Restore of the node failed: the management plane did not come up (lab fault)' } } }, expect: { kind: 'failed', failure: 'DrillFailed', says: /the NSX restore is FAILED: Restore of the node failed/, sandbox: 'dirty' } },
  { fault: '5xx burst', step: 'vCenter restore poll', scenario: 'drill', inject: { into: 'sandboxVcenter', faults: { http5xx: 1 }, at: 'awaitVcenterRestore' }, expect: { kind: 'retried', activity: 'awaitVcenterRestore', by: 'activity retry' } },
];

/** A row's name: the fault and the step it hits. */
export const rowTitle = (r: MatrixRow): string => `${r.fault} × ${r.step}`;

/** What a row injects, as one line of Markdown. */
export function describeInjection(r: MatrixRow): string {
  const body = JSON.stringify(r.inject.faults);
  const where = r.inject.into === 'sftp' ? 'the lab SFTP server (sshd)' : `\`${r.inject.into}\` \`PUT /lab/faults\``;
  return `${where} \`${body}\`${r.inject.at ? `, as \`${r.inject.at}\` is first called` : ', before the run'}${r.config?.workerPoolTimeout ? `; \`ibmCloud.workerPool.timeout: ${r.config.workerPoolTimeout}\`` : ''}`;
}

/** The expected outcome, as one line of Markdown. */
export function describeOutcome(e: Expected): string {
  if (e.kind === 'retried') return `**retried, then completed** — ${e.by === 'activity retry' ? `\`${e.activity}\` ran a second attempt` : `\`${e.activity}\` rode it out in one attempt`}`;
  if (e.kind === 'tolerated') return `**completed with a warning** in the manifest matching \`${e.warning.source}\``;
  const parts = [`**failed** \`${e.failure}\` — \`${e.says.source}\``];
  if (e.manifest === 'none') parts.push('no manifest (stopped before the set was opened)');
  if (e.manifest === 'failed') parts.push(`manifest \`failed\`, every product folder recorded${e.partial ? ` (the ${e.partial === 'nsx' ? 'NSX' : 'vCenter'} folder holding the cut-off upload too)` : ''}`);
  if (e.rollback) parts.push(`rolled back: ${e.rollback.undone} undo(s), none failed, inventory as before`);
  if (e.nothingChanged) parts.push('nothing changed');
  if (e.sandbox) parts.push(`sandbox \`${e.sandbox}\`, the set's drill recorded failed, not restore-tested`);
  return parts.join('; ');
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** docs/faults.md: a short intro and the table. */
export function renderFaultsDoc(rows: MatrixRow[] = MATRIX): string {
  const covered = new Set(rows.map((r) => r.fault));
  return [
    '# Fault matrix',
    '',
    '<!-- Generated by `npm run faults:doc` from test/faults/matrix.ts; do not edit by hand. -->',
    '',
    'Each row is one lab fault at one step of a workflow, and the outcome the run must reach.',
    '`test/faults/matrix.test.ts` runs every row against the lab (the NSX, vCenter, vSphere SOAP, IBM',
    'and SFTP simulators, a real OpenSSH sshd, a real Temporal server) and asserts the outcome: the',
    'run\'s end and failure type, the set\'s manifest on the target (and that no product folder is left',
    'unrecorded), the inventory after a rollback, the sandbox after a drill. Faults are set through each',
    'simulator\'s `PUT /lab/faults` — before the run, or as the named activity is first called — and',
    'cleared (`DELETE /lab/faults`) after each row. Besides its own outcome, every backup row checks that',
    'no vCenter job is left running and every product folder on the target is listed by a manifest; one',
    'that completes ran exactly one NSX backup and one vCenter job; every scale-out row ends with the',
    'inventory (vCenter, IBM, the IKS pool) as it was before the row.',
    '',
    `${rows.length} rows; ${covered.size} of ${FAULTS.length} faults covered.`,
    '',
    'Workflows:',
    '',
    ...Object.entries(SCENARIOS).map(([k, v]) => `- \`${k}\`: ${v}`),
    '',
    '| fault | step | workflow | how injected | expected outcome |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${cell(r.fault)} | ${cell(r.step)} | \`${r.scenario}\` | ${cell(describeInjection(r))} | ${cell(describeOutcome(r.expect) + (r.note ? ` (${r.note})` : ''))} |`),
    '',
  ].join('\n');
}
