import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import type { IbmCloudConfig, SiteConfig, WebhookConfig } from '../src/config/schema.js';
import type { IksRecord } from '../src/domain/backup-set.js';
import { startAppDataReminders, type ReminderStart } from './appdata-round.js';
import { makeSetId, totalsOf, type BackupSetManifest, type FileRecord } from '../src/domain/backup-set.js';
import { parseDuration } from '../src/domain/duration.js';
import { BackupSetId } from '../src/temporal/search-attributes.js';
import { NON_RETRYABLE_TYPES } from '../src/domain/failure-types.js';
import type { NsxBackupState, NsxFinishedBackup } from '../activities/nsx-backup.js';
import type { PruneOutcome } from '../activities/catalog.js';

export interface CoordinatedBackupInput {
  site: string;
  /** The site's config as written: secrets appear only as references. */
  config: SiteConfig;
  /** IBM Cloud access (references only), when the site links IKS clusters. */
  ibm?: IbmCloudConfig;
  /** Webhooks the app-data reminders notify through (URLs are references). */
  webhooks?: Record<string, WebhookConfig>;
}

export interface CoordinatedBackupResult {
  status: 'complete';
  setId: string;
  site: string;
  manifestPath: string;
  startedAt: string;
  endedAt: string;
  nsx: { backupId: string; files: number; bytes: number };
  vcenter: { jobId: string; files: number; bytes: number };
  totals: { files: number; bytes: number };
  pruned?: PruneOutcome;
  warnings?: string[];
  iks?: IksRecord[];
  appDataReminders?: ReminderStart[];
}

export const STEPS = [
  ['preflight', 'Check the SFTP target (host key, directory)'],
  ['nsxConfig', 'Ensure the NSX backup target configuration'],
  ['startBackups', 'Start the NSX and vCenter backups'],
  ['waitNsx', 'Wait for the NSX backup'],
  ['waitVcenter', 'Wait for the vCenter backup'],
  ['verify', 'Verify both backups on the SFTP server'],
  ['manifest', 'Write backup-set.json'],
  ['retention', 'Apply the retention policy'],
] as const;
export type StepName = (typeof STEPS)[number][0];
export type StepStatus = 'pending' | 'running' | 'done' | 'failed';

export interface BackupProgress {
  setId: string;
  site: string;
  steps: { name: StepName; title: string; status: StepStatus; detail?: string }[];
}

export const progressQuery = defineQuery<BackupProgress>('progress');

const nonRetryableErrorTypes = [...NON_RETRYABLE_TYPES];
const api = proxyActivities<typeof activities>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes },
});
const poll = proxyActivities<typeof activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 6, nonRetryableErrorTypes },
});
const hashing = proxyActivities<typeof activities>({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '2m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 3, nonRetryableErrorTypes },
});

/** How many empty looks at NSX (accepted but nothing running, nothing in history) before giving up. */
const NSX_NOT_FOUND_LIMIT = 6;

export async function coordinatedBackup({ site, config, ibm, webhooks = {} }: CoordinatedBackupInput): Promise<CoordinatedBackupResult> {
  const info = workflowInfo();
  const started = new Date(info.runStartTime);
  const notBefore = started.getTime();
  const setId = makeSetId(site, started);
  const target = config.backupTarget;
  const pollInterval = parseDuration(config.backup.pollInterval);
  const timeout = parseDuration(config.backup.timeout);
  upsertSearchAttributes([{ key: BackupSetId, value: setId }]);

  const warnings: string[] = [];
  const progress: BackupProgress = { setId, site, steps: STEPS.map(([name, title]) => ({ name, title, status: 'pending' })) };
  setHandler(progressQuery, () => progress);
  const mark = (name: StepName, status: StepStatus, detail?: string) => {
    const s = progress.steps.find((x) => x.name === name)!;
    s.status = status;
    s.detail = detail;
    setCurrentDetails(
      `**Backup set** \`${setId}\` — site \`${site}\`\n\n` +
        progress.steps.map((x) => `- [${x.status === 'done' ? 'x' : ' '}] ${x.title} — ${x.status}${x.detail ? `: ${x.detail}` : ''}`).join('\n') +
        (warnings.length ? `\n\n**Warnings**\n${warnings.map((w) => `- ⚠ ${w}`).join('\n')}` : ''),
    );
  };
  let current: StepName = 'preflight';
  const step = async <T>(name: StepName, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> => {
    current = name;
    mark(name, 'running');
    const r = await fn();
    mark(name, 'done', detail?.(r));
    return r;
  };

  const manifestBase = {
    schemaVersion: 1 as const,
    setId,
    site,
    startedAt: started.toISOString(),
    workflow: { workflowId: info.workflowId, runId: info.runId },
    target: { host: target.host, port: target.port, directory: target.directory, hostKeyFingerprint: target.hostKeyFingerprint },
  };
  let targetReachable = false;
  let iks: IksRecord[] | undefined;
  let nsxPart: BackupSetManifest['nsx'];
  let vcPart: BackupSetManifest['vcenter'];

  try {
    await step('preflight', async () => {
      const r = await api.preflightBackupTarget.executeWithOptions({ summary: `SFTP preflight ${target.host}:${target.port}${target.directory}` }, [target]);
      targetReachable = true;
      return r;
    }, (r) => `host key ${r.serverFingerprint}`);
    // The catalog shows the set as running from here on, and retention never touches it.
    await api.writeBackupSetManifest.executeWithOptions({ summary: `Mark ${setId} running in the catalog` }, [
      { target, manifest: { ...manifestBase, status: 'running', endedAt: '', totals: { files: 0, bytes: 0 } } },
    ]);
    if (config.iksClusters.length && ibm) {
      // A record of the provider-managed etcd backups; problems are warnings, never failures.
      const r = await api.recordIksClusters.executeWithOptions({ summary: `Record ${config.iksClusters.length} IKS cluster(s) (etcd backups are provider-managed)` }, [
        { ibm, clusters: config.iksClusters },
      ]);
      iks = r.records;
      warnings.push(...r.warnings);
    }

    await step('nsxConfig', () =>
      api.ensureNsxBackupConfig.executeWithOptions({ summary: 'Ensure NSX backup target (PUT only on drift)' }, [{ nsx: config.nsx, target }]),
      (r) => (r.changed ? `updated (${r.drift.join(', ')})` : 'already correct'),
    );

    const [nsxStart, vcStart] = await step('startBackups', () =>
      Promise.all([
        api.startNsxBackup.executeWithOptions({ summary: 'Start NSX backup_to_remote' }, [{ nsx: config.nsx, notBefore }]),
        api.startVcenterBackup.executeWithOptions({ summary: 'Start vCenter appliance backup job' }, [
          { vcenter: config.vcenter, target, notBefore, comment: `sddc-ops backup set ${setId}` },
        ]),
      ]),
      ([n, v]) => `NSX ${n.how}${n.backupId ? ` ${n.backupId}` : ''}, vCenter job ${v.jobId} ${v.how}`,
    );

    const deadline = notBefore + timeout;
    /** The parallel waits name their own step when they fail. */
    const asStep = async <T>(name: StepName, fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        current = name;
        throw err;
      }
    };
    const waitNsx = async (): Promise<NsxFinishedBackup> => {
      mark('waitNsx', 'running');
      let misses = 0;
      for (;;) {
        const s: NsxBackupState = await poll.getNsxBackupState.executeWithOptions({ summary: 'NSX backup status' }, [
          { nsx: config.nsx, notBefore, backupId: nsxStart.backupId },
        ]);
        if (s.state === 'succeeded') {
          mark('waitNsx', 'done', `backup ${s.backupId}`);
          return s;
        }
        if (s.state === 'failed') {
          throw ApplicationFailure.create({
            type: 'NsxBackupFailed',
            nonRetryable: true,
            message: `NSX backup ${s.backupId} failed: ${s.errorMessage ?? 'no message'}${s.errorCode ? ` (${s.errorCode})` : ''}`,
          });
        }
        if (s.state === 'not-found' && ++misses >= NSX_NOT_FOUND_LIMIT) {
          throw ApplicationFailure.create({ type: 'NsxBackupFailed', nonRetryable: true, message: 'NSX Manager accepted the backup request but no backup ran: check the manager\'s backup page and its syslog' });
        }
        if (s.state === 'running') mark('waitNsx', 'running', s.step);
        if (Date.now() + pollInterval > deadline) throw ApplicationFailure.create({ type: 'BackupTimedOut', nonRetryable: true, message: `NSX backup did not finish within ${config.backup.timeout}` });
        await sleep(pollInterval, { summary: 'wait before asking NSX again' });
      }
    };
    const waitVcenter = async () => {
      mark('waitVcenter', 'running');
      for (;;) {
        const s = await poll.getVcenterBackupState.executeWithOptions({ summary: `vCenter job ${vcStart.jobId} status` }, [
          { vcenter: config.vcenter, jobId: vcStart.jobId },
        ]);
        if (s.state === 'SUCCEEDED') {
          mark('waitVcenter', 'done', `job ${vcStart.jobId}`);
          return s;
        }
        if (s.state === 'FAILED') {
          throw ApplicationFailure.create({ type: 'VcenterBackupFailed', nonRetryable: true, message: `vCenter backup job ${vcStart.jobId} failed: ${s.message ?? 'no message'}` });
        }
        mark('waitVcenter', 'running', `${s.progress}%`);
        if (Date.now() + pollInterval > deadline) throw ApplicationFailure.create({ type: 'BackupTimedOut', nonRetryable: true, message: `vCenter backup did not finish within ${config.backup.timeout}` });
        await sleep(pollInterval, { summary: 'wait before asking vCenter again' });
      }
    };
    const [nsxDone, vcDone] = await Promise.all([asStep('waitNsx', waitNsx), asStep('waitVcenter', waitVcenter)]);

    const vcStartMs = vcDone.startTime ? Date.parse(vcDone.startTime) : notBefore;
    const vcEndMs = vcDone.endTime ? Date.parse(vcDone.endTime) : Date.now();
    const [nsxFiles, vcFiles] = await step('verify', () =>
      Promise.all([
        hashing.verifyNsxBackup.executeWithOptions({ summary: 'Verify NSX files (SHA-256 over SFTP)' }, [{ target, startMs: nsxDone.startTime, endMs: nsxDone.endTime }]),
        hashing.verifyVcenterBackup.executeWithOptions({ summary: 'Verify vCenter files (SHA-256 over SFTP)' }, [{ target, startMs: vcStartMs, endMs: vcEndMs }]),
      ]),
      ([n, v]) => `${n.length + v.length} files hashed`,
    );
    nsxPart = {
      backupId: nsxDone.backupId,
      startTime: new Date(nsxDone.startTime).toISOString(),
      endTime: new Date(nsxDone.endTime).toISOString(),
      productVersion: nsxStart.productVersion,
      passphraseRef: config.nsx.backupPassphrase,
      files: nsxFiles,
    };
    vcPart = {
      jobId: vcStart.jobId,
      startTime: vcDone.startTime,
      endTime: vcDone.endTime,
      version: vcStart.version,
      location: vcStart.location,
      backupPasswordRef: config.vcenter.backupPassword,
      files: vcFiles,
    };
    const endedAt = new Date().toISOString();
    const manifest: BackupSetManifest = {
      ...manifestBase,
      status: 'complete',
      endedAt,
      verifiedAt: endedAt,
      nsx: nsxPart,
      vcenter: vcPart,
      totals: totalsOf(nsxFiles, vcFiles),
      ...(iks ? { iks } : {}),
      ...(warnings.length ? { warnings: [...warnings] } : {}),
    };
    const { path } = await step('manifest', () =>
      api.writeBackupSetManifest.executeWithOptions({ summary: `Write ${setId}/backup-set.json` }, [{ target, manifest }]),
    );
    let pruned: PruneOutcome | undefined;
    if (target.retention) {
      current = 'retention';
      mark('retention', 'running');
      try {
        pruned = await api.pruneBackupSets.executeWithOptions({ summary: 'Apply the retention policy', startToCloseTimeout: '1h', heartbeatTimeout: '2m' }, [
          { target, dryRun: false, nowMs: Date.now() },
        ]);
        mark('retention', 'done', `${pruned.expired.length} set(s) expired, ${pruned.filesDeleted} file(s) deleted`);
      } catch (err) {
        // The set is complete and verified; a failed prune is a warning, not a failed backup.
        warnings.push(`retention failed: ${failureMessage(err)}`);
        mark('retention', 'failed', failureMessage(err));
      }
    } else {
      mark('retention', 'done', 'no retention policy: nothing deleted');
    }
    let appDataReminders: ReminderStart[] | undefined;
    if (config.appData.runWithBackup && config.iksClusters.length) {
      appDataReminders = await startAppDataReminders({ site, config, webhooks, setId });
    }
    return {
      status: 'complete',
      setId,
      site,
      manifestPath: path,
      ...(pruned ? { pruned } : {}),
      ...(warnings.length ? { warnings } : {}),
      ...(iks ? { iks } : {}),
      ...(appDataReminders ? { appDataReminders } : {}),
      startedAt: manifest.startedAt,
      endedAt,
      nsx: { backupId: nsxPart.backupId, ...totalsOf(nsxFiles) },
      vcenter: { jobId: vcPart.jobId, ...totalsOf(vcFiles) },
      totals: manifest.totals,
    };
  } catch (err) {
    const reason = failureMessage(err);
    mark(current, 'failed', reason);
    if (targetReachable) {
      // Record the failed attempt for the catalog; it never says complete. Runs even when cancelled.
      await CancellationScope.nonCancellable(() =>
        api.writeBackupSetManifest
          .executeWithOptions({ summary: `Record failed set ${setId}`, retry: { maximumAttempts: 3 } }, [
            {
              target,
              manifest: {
                ...manifestBase,
                status: 'failed',
                failureReason: reason,
                endedAt: new Date().toISOString(),
                nsx: nsxPart,
                vcenter: vcPart,
                totals: totalsOf(nsxPart?.files, vcPart?.files),
                ...(iks ? { iks } : {}),
                ...(warnings.length ? { warnings: [...warnings] } : {}),
              },
            },
          ])
          .catch(() => undefined),
      );
    }
    throw ApplicationFailure.create({ type: failureType(err), nonRetryable: true, message: `backup set ${setId} failed at step "${current}": ${reason}`, cause: err instanceof Error ? err : undefined });
  }
}

function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

function failureType(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type ? cause.type : 'BackupFailed';
}

