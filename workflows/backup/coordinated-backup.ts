import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  getExternalWorkflowHandle,
  isCancellation,
  metricMeter,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import type { IksRecord } from '../../src/domain/backup-set.js';
import type { CapturedInventory } from '../../src/domain/inventory.js';
import { startAppDataReminders, type ReminderStart } from '../appdata/appdata-round.js';
import { notifyContacts } from '../alerts/notify.js';
import { loadSite } from '../site-config.js';
import { backupRunTimeoutMs, endpointResource, makeSetId, totalsOf, type BackupSetManifest } from '../../src/domain/backup-set.js';
import { insecureBackupEndpoints } from '../../src/domain/endpoint-tls.js';
import { lockReplySignal, lockWorkflowId, releaseSignal, type LockReply } from '../locks/endpoint-lock.js';
import { isPatched, Patch } from '../patches.js';
import { parseDuration } from '../../src/domain/duration.js';
import { BackupSetId } from '../../src/temporal/search-attributes.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import type { NsxStartResult } from '../../activities/backup/nsx-backup.js';
import type { VcenterBackupState, VcenterStartResult } from '../../activities/backup/vcenter-backup.js';
import type { NsxFinished, VcenterFinished } from '../../activities/backup/product-wait.js';
import { productProgressSignal } from '../../src/temporal/progress.js';
import type { ProductFiles } from '../../activities/backup/backup-set.js';
import type { PruneOutcome } from '../../activities/backup/catalog.js';

export interface CoordinatedBackupInput {
  /** The site, by name: the run reads its config from the worker's config file when it starts. */
  site: string;
  /**
   * When another run holds the NSX Manager or the vCenter appliance: `queue` (default) waits for it,
   * within this run's own deadline; `skip` refuses at once, naming the holder.
   */
  ifBusy?: 'queue' | 'skip';
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
  ['preflight', 'Check secrets, NSX Manager, vCenter and the SFTP target (host key, directory)'],
  ['exclusive', 'Take NSX Manager and vCenter for this run (one backup per product at a time)'],
  ['nsxConfig', 'Ensure the NSX backup target configuration'],
  ['capture', 'Record the configuration NSX and vCenter hold as the backups begin (restore drills compare with it)'],
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
/** Quick steps (a few requests each): a worker killed inside one costs at most this long. */
const api = proxyActivities<typeof activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes },
});
/** The start calls: short, so that a worker killed inside one costs seconds and both products still start together. */
const starts = proxyActivities<typeof activities>({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 10, nonRetryableErrorTypes },
});
/** Manifest writes that must land: retried until the target answers again, up to the run's deadline. */
const durableWrites = (untilMs: number) =>
  proxyActivities<typeof activities>({
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: Math.max(untilMs - Date.now(), 60_000),
    retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', nonRetryableErrorTypes },
  });
const hashing = proxyActivities<typeof activities>({
  startToCloseTimeout: '2h',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 3, nonRetryableErrorTypes },
});


export async function coordinatedBackup({ site, ifBusy = 'queue' }: CoordinatedBackupInput): Promise<CoordinatedBackupResult> {
  const info = workflowInfo();
  const started = new Date(info.runStartTime);
  const notBefore = started.getTime();
  const setId = makeSetId(site, started);
  upsertSearchAttributes([{ key: BackupSetId, value: setId }]);

  // The checklist answers queries from the first moment, before the config is read.
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

  const { config, ibm, webhooks } = await loadSite(site, 'the backup');
  const target = config.backupTarget;
  const pollInterval = parseDuration(config.backup.pollInterval);
  const timeout = parseDuration(config.backup.timeout);
  const deadline = notBefore + timeout;
  /** Temporal ends the run here (the start paths set it from backup.timeout); the manifest records it. */
  const runDeadline = notBefore + (info.executionTimeoutMs ?? backupRunTimeoutMs(timeout));
  const durable = durableWrites(runDeadline - 30_000);
  let current: StepName = 'preflight';
  const step = async <T>(name: StepName, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> => {
    current = name;
    mark(name, 'running');
    const r = await fn();
    mark(name, 'done', detail?.(r));
    return r;
  };

  // From the config the run read (an activity's result): which endpoints it talks to unchecked.
  const insecure = insecureBackupEndpoints(config, ibm);
  const manifestBase = {
    schemaVersion: 1 as const,
    setId,
    site,
    startedAt: started.toISOString(),
    runDeadline,
    workflow: { workflowId: info.workflowId, runId: info.runId },
    target: { host: target.host, port: target.port, directory: target.directory, hostKeyFingerprint: target.hostKeyFingerprint },
    ...(insecure.length ? { insecureEndpoints: insecure } : {}),
  };
  let runningWritten = false;
  let iks: IksRecord[] | undefined;
  let captured: CapturedInventory | undefined;
  let nsxStart: NsxStartResult | undefined;
  let vcStart: VcenterStartResult | undefined;
  let nsxDone: NsxFinished | undefined;
  let vcDone: VcenterFinished | undefined;

  /** Both halves as far as they are known: every product backup this run started is recorded. */
  const parts = (nsx?: ProductFiles, vc?: ProductFiles): Pick<BackupSetManifest, 'nsx' | 'vcenter'> => ({
    ...(nsxStart
      ? {
          nsx: {
            flavor: config.nsx.flavor,
            backupId: nsxDone?.backupId ?? nsxStart.backupId,
            startTime: isoOf(nsxDone?.startTime ?? nsxStart.startTime),
            endTime: isoOf(nsxDone?.endTime),
            productVersion: nsxStart.productVersion,
            passphraseRef: config.nsx.backupPassphrase,
            folders: nsx?.folders ?? [],
            files: nsx?.files ?? [],
          },
        }
      : {}),
    ...(vcStart
      ? {
          vcenter: {
            jobId: vcStart.jobId,
            startTime: vcDone?.startTime ?? vcStart.startTime,
            endTime: vcDone?.endTime,
            version: vcStart.version,
            location: vcStart.location,
            backupPasswordRef: config.vcenter.backupPassword,
            folders: vc?.folders ?? [],
            files: vc?.files ?? [],
          },
        }
      : {}),
  });

  /**
   * Exclusive use of both product endpoints, taken in a fixed order (no two runs can deadlock) and
   * held until this run's waits are over. Queued requests lapse with this run's deadline.
   */
  const lockReplies = new Map<string, LockReply>();
  setHandler(lockReplySignal, (r) => void lockReplies.set(r.resource, r));
  const resources = [endpointResource('nsx', config.nsx.url), endpointResource('vcenter', config.vcenter.url)].sort();
  const me = { workflowId: info.workflowId, runId: info.runId, label: `the backup of site ${site} (set ${setId}, workflow ${info.workflowId})`, until: deadline };
  const requested: { resource: string; lockWorkflowId?: string }[] = [];
  const takeEndpoints = async (): Promise<string> => {
    for (const resource of resources) {
      const asked: { resource: string; lockWorkflowId?: string } = { resource };
      requested.push(asked); // before asking: a release must also withdraw a queued request
      // Pre-patch histories recorded no result here: their release falls back to the id workflow code computes.
      asked.lockWorkflowId = (await api.requestEndpointLock.executeWithOptions({ summary: `Ask for ${resource}` }, [{ resource, request: { ...me, ifFree: ifBusy === 'skip' } }]))?.lockWorkflowId;
      if (!(await condition(() => lockReplies.has(resource), Math.max(deadline - Date.now(), 1)))) {
        const state = await api.describeEndpointLock.executeWithOptions({ summary: `Who holds ${resource}` }, [{ resource }]).catch(() => undefined);
        throw ApplicationFailure.create({ type: 'EndpointBusy', nonRetryable: true, message: `${resource} was still busy with ${state?.holder?.label ?? 'another run'} when this run's time (${config.backup.timeout}) ran out` });
      }
      const reply = lockReplies.get(resource)!;
      if (!reply.granted) {
        throw ApplicationFailure.create({ type: 'EndpointBusy', nonRetryable: true, message: `${resource} is busy with ${reply.holder ?? 'another run'}; not queueing (--if-busy skip)` });
      }
    }
    return resources.join(', ');
  };
  const releaseEndpoints = async (): Promise<void> => {
    const locks = requested.splice(0);
    if (!locks.length) return;
    if (isPatched(Patch.releaseLocksByActivity)) {
      await api.releaseEndpointLock.executeWithOptions({ summary: `Give back ${locks.map((l) => l.resource).join(', ')}` }, [{ locks, holder: { workflowId: me.workflowId, runId: me.runId } }]).catch(() => undefined);
      return;
    }
    for (const { resource } of locks) {
      await getExternalWorkflowHandle(lockWorkflowId(resource)).signal(releaseSignal, { workflowId: me.workflowId, runId: me.runId }).catch(() => undefined);
    }
  };

  /** Waits for a product job in one heartbeating activity each: outages within the deadline are ridden out there. */
  const waiting = proxyActivities<typeof activities>({
    startToCloseTimeout: Math.max(deadline - Date.now(), 0) + 120_000,
    scheduleToCloseTimeout: Math.max(deadline - Date.now(), 0) + 300_000,
    heartbeatTimeout: '15s',
    retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes },
  });
  setHandler(productProgressSignal, ({ step: s, detail }) => {
    if (progress.steps.find((x) => x.name === s)?.status === 'running') mark(s, 'running', detail);
  });
  const pollNsx = () =>
    waiting.waitForNsxBackup.executeWithOptions({ summary: 'Wait for the NSX backup (polls inside, rides out outages)' }, [
      { nsx: config.nsx, notBefore, backupId: nsxStart?.backupId, pollIntervalMs: pollInterval, deadlineMs: deadline },
    ]);
  const pollVcenter = () =>
    waiting.waitForVcenterBackup.executeWithOptions({ summary: `Wait for vCenter job ${vcStart!.jobId} (polls inside, rides out outages)` }, [
      { vcenter: config.vcenter, jobId: vcStart!.jobId, pollIntervalMs: pollInterval, deadlineMs: deadline },
    ]);

  let manifestPath: string;
  let manifest: BackupSetManifest;
  try {
    // Nothing is asked of a product before every secret resolves and every endpoint answers.
    const otherSecrets = [
      ...(config.iksClusters.length && ibm ? [ibm.apiKey] : []),
      ...(config.appData.runWithBackup
        ? config.iksClusters.flatMap((c) => [...c.appOwners, ...c.escalation].map((contact) => webhooks[contact.webhook]?.url)).filter((u): u is string => !!u)
        : []),
    ];
    await step(
      'preflight',
      () =>
        Promise.all([
          api.preflightBackupTarget.executeWithOptions({ summary: `SFTP preflight ${target.host}:${target.port}${target.directory}` }, [target]),
          api.preflightProducts.executeWithOptions({ summary: 'Resolve every secret; NSX Manager and vCenter answer and accept their credentials' }, [
            { nsx: config.nsx, vcenter: config.vcenter, target, otherSecrets },
          ]),
        ]),
      ([t, p]) => `host key ${t.serverFingerprint}; NSX ${p.nsxVersion ?? '?'}, vCenter ${p.vcenterVersion ?? '?'}; ${p.secrets} secret(s) resolved`,
    );
    // The catalog shows the set as running from here on, and retention never touches it. Short and
    // not cancellable: a cancel must not leave a manifest written after the run stopped looking.
    await CancellationScope.nonCancellable(() =>
      api.writeBackupSetManifest.executeWithOptions({ summary: `Mark ${setId} running in the catalog` }, [
        { target, manifest: { ...manifestBase, status: 'running', endedAt: '', totals: { files: 0, bytes: 0 } } },
      ]),
    );
    runningWritten = true;
    if (config.iksClusters.length && ibm) {
      // A record of the provider-managed etcd backups; problems are warnings, never failures.
      // IKS may ask us to wait (429 Retry-After, up to 30 s a time): this one step gets longer.
      const r = await api.recordIksClusters.executeWithOptions({ summary: `Record ${config.iksClusters.length} IKS cluster(s) (etcd backups are provider-managed)`, startToCloseTimeout: '3m' }, [
        { ibm, clusters: config.iksClusters },
      ]);
      iks = r.records;
      warnings.push(...r.warnings);
    }

    await step('exclusive', takeEndpoints, (held) => held);
    await step('nsxConfig', () =>
      api.ensureNsxBackupConfig.executeWithOptions({ summary: 'Ensure NSX backup target (PUT only on drift)' }, [{ nsx: config.nsx, target }]),
      (r) =>
        r.changed
          ? r.drift.some((d) => d.includes('not configured'))
            ? 'pointed at this target (it had none)'
            : r.drift.join() === 'credentials'
              ? 'credentials sent (NSX never shows them: once per worker, and again when rotated)'
              : `updated: ${r.drift.join(', ')} differed`
          : 'already correct',
    );

    // What the backups should hold: a failed read is a warning (the set is still a backup; drills cannot compare it).
    captured = await step('capture', () =>
      api.captureInventory
        .executeWithOptions({ summary: 'Read the NSX and vCenter configuration (for restore drills)', retry: { maximumAttempts: 3, nonRetryableErrorTypes } }, [{ nsx: config.nsx, vcenter: config.vcenter }])
        .catch((err: unknown) => {
          if (isCancellation(err)) throw err;
          warnings.push(`the configuration was not captured (${failureMessage(err)}): restore drills cannot compare this set`);
          return undefined;
        }),
      (c) => (c ? `${c.nsx.length} NSX and ${c.vcenter.length} vCenter objects` : 'not captured (see warnings)'),
    );

    // Not cancellable, and both settle before either failure counts: a cancel or a failed start must
    // know what the other start began, so that it is recorded (and cancelled or waited for).
    await step('startBackups', () =>
      CancellationScope.nonCancellable(async () => {
        const [n, v] = await Promise.allSettled([
          starts.startNsxBackup.executeWithOptions({ summary: 'Start NSX backup_to_remote' }, [{ nsx: config.nsx, notBefore }]).then((r) => (nsxStart = r)),
          starts.startVcenterBackup
            .executeWithOptions({ summary: 'Start vCenter appliance backup job' }, [{ vcenter: config.vcenter, target, notBefore, comment: `sddc-ops backup set ${setId}` }])
            .then((r) => (vcStart = r)),
        ]);
        if (n.status === 'rejected') throw n.reason;
        if (v.status === 'rejected') throw v.reason;
        return [n.value, v.value] as const;
      }),
      ([n, v]) => `NSX ${n.how}${n.backupId ? ` ${n.backupId}` : ''}, vCenter job ${v.jobId} ${v.how}`,
    );
    // Recorded at once, so that whatever happens next, the catalog knows what this run started.
    current = 'waitNsx';
    await api.writeBackupSetManifest
      .executeWithOptions({ summary: `Record the started backups in ${setId}` }, [
        { target, manifest: { ...manifestBase, status: 'running', endedAt: '', ...parts(), totals: { files: 0, bytes: 0 } } },
      ])
      .catch((err: unknown) => {
        if (isCancellation(err)) throw err;
        warnings.push(`the started backups were not recorded at once (${failureMessage(err)}); the final manifest records them`);
      });

    /** The parallel waits name their own step when they fail; the first failure stops the other. */
    const waits = new CancellationScope();
    const asStep = async <T>(name: StepName, fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        if (!isCancellation(err)) {
          current = name;
          waits.cancel();
        }
        throw err;
      }
    };
    mark('waitNsx', 'running');
    mark('waitVcenter', 'running');
    await waits.run(() =>
      Promise.all([
        asStep('waitNsx', async () => {
          nsxDone = await pollNsx();
          if (nsxDone.state === 'failed') {
            throw ApplicationFailure.create({
              type: 'NsxBackupFailed',
              nonRetryable: true,
              message: `NSX backup ${nsxDone.backupId} failed: ${nsxDone.errorMessage ?? 'no message'}${nsxDone.errorCode ? ` (${nsxDone.errorCode})` : ''}`,
            });
          }
          mark('waitNsx', 'done', `backup ${nsxDone.backupId}`);
        }),
        asStep('waitVcenter', async () => {
          vcDone = await pollVcenter();
          if (vcDone.state === 'FAILED') {
            throw ApplicationFailure.create({ type: 'VcenterBackupFailed', nonRetryable: true, message: `vCenter backup job ${vcStart!.jobId} failed: ${vcDone.message ?? 'no message'}` });
          }
          mark('waitVcenter', 'done', `job ${vcStart!.jobId}`);
        }),
      ]),
    );

    // Both products are done with this run: the next one may use them while we verify.
    await CancellationScope.nonCancellable(releaseEndpoints);
    const vcWindow = vcenterWindow(vcDone!, notBefore);
    const [nsxFiles, vcFiles] = await step('verify', () =>
      Promise.all([
        hashing.verifyNsxBackup.executeWithOptions({ summary: 'Verify NSX files (SHA-256 over SFTP)' }, [{ target, startMs: nsxDone!.startTime, endMs: nsxDone!.endTime }]),
        hashing.verifyVcenterBackup.executeWithOptions({ summary: 'Verify vCenter files (SHA-256 over SFTP)' }, [{ target, ...vcWindow }]),
      ]),
      ([n, v]) => `${n.files.length + v.files.length} files hashed`,
    );
    const endedAt = new Date().toISOString();
    manifest = {
      ...manifestBase,
      status: 'complete',
      endedAt,
      verifiedAt: endedAt,
      ...parts(nsxFiles, vcFiles),
      totals: totalsOf(nsxFiles.files, vcFiles.files),
      ...(iks ? { iks } : {}),
      ...(captured ? { captured } : {}),
      ...(warnings.length ? { warnings: [...warnings] } : {}),
    };
    const complete = manifest;
    // The commit point: not cancellable, so a cancel that arrives now can never leave a verified set
    // half-recorded; it takes effect at the next step (retention), or not at all if none follows.
    manifestPath = (
      await step('manifest', () =>
        CancellationScope.nonCancellable(() => durable.writeBackupSetManifest.executeWithOptions({ summary: `Write ${setId}/backup-set.json` }, [{ target, manifest: complete }])),
      )
    ).path;
  } catch (err) {
    const cancelled = isCancellation(err);
    // A cancel lands on whatever was under way (of the two waits, the one not yet done).
    if (cancelled) current = progress.steps.find((s) => s.status === 'running')?.name ?? current;
    const reason = cancelled ? `cancelled at step "${current}"` : failureMessage(err);
    mark(current, 'failed', reason);
    await CancellationScope.nonCancellable(async () => {
      if (runningWritten) await recordUnfinishedSet(cancelled ? 'cancelled' : 'failed', reason);
      await releaseEndpoints();
      await writeReport();
      if (config.alerts) {
        await notifyContacts({
          contacts: config.alerts.notify,
          webhooks,
          key: `${info.workflowId}-${info.runId}`,
          notification: {
            kind: cancelled ? 'backup-cancelled' : 'backup-failed',
            subject: `Backup of site ${site} ${cancelled ? 'was cancelled' : 'failed'} (set ${setId})`,
            lines: [`• ${cancelled ? `cancelled at step "${current}"` : `step "${current}": ${reason}`}`, `Run: ${info.workflowId} (${info.runId})`, 'This run made no good set; `sddc-ops backup list` shows the newest one.'],
            site,
          },
        });
      }
    });
    // Whatever else was under way (the two waits run side by side) stopped with the run.
    for (const s of progress.steps) if (s.status === 'running') mark(s.name, 'failed', cancelled ? 'cancelled' : 'stopped: the run failed');
    countSet(cancelled ? 'cancelled' : 'failed');
    if (cancelled) throw err;
    throw ApplicationFailure.create({ type: failureType(err), nonRetryable: true, message: `backup set ${setId} failed at step "${current}": ${reason}`, cause: err instanceof Error ? err : undefined });
  }

  /** sddc_backup_sets{site,status}: the worker's Prometheus endpoint serves it (not counted again on replay). */
  function countSet(status: 'complete' | 'failed' | 'cancelled'): void {
    metricMeter.createCounter('sddc_backup_sets', 'sets', 'Backup sets by outcome').add(1, { site, status });
  }

  /**
   * The site's health report beside the backups, after every run; a failure to write it is a
   * warning only. Short and not cancellable: bookkeeping after the commit point does not turn a
   * run whose set is committed into a cancelled one.
   */
  async function writeReport(): Promise<void> {
    await CancellationScope.nonCancellable(() =>
      api.writeSiteReport.executeWithOptions({ summary: 'Write report/index.html beside the backups', retry: { maximumAttempts: 2, nonRetryableErrorTypes } }, [{ target, site }]),
    ).catch((err: unknown) => void warnings.push(`the health report was not written: ${failureMessage(err)}`));
  }

  /**
   * A failed or cancelled run: cancel the vCenter job it started if that still runs, let the NSX
   * backup run to its end, find the folders both wrote, and record them with the outcome — so
   * retention frees them. The write is retried until the target answers, up to the run's deadline.
   */
  async function recordUnfinishedSet(status: 'failed' | 'cancelled', reason: string): Promise<void> {
    const notes: string[] = [];
    if (vcStart && !vcDone) {
      try {
        const r = await api.cancelVcenterBackup.executeWithOptions({ summary: `Cancel vCenter job ${vcStart.jobId}`, startToCloseTimeout: '1m', heartbeatTimeout: '15s' }, [{ vcenter: config.vcenter, jobId: vcStart.jobId }]);
        if (r.state === 'SUCCEEDED' || r.state === 'FAILED') vcDone = r as VcenterFinished;
        if (r.cancelled) notes.push(`vCenter job ${vcStart.jobId} cancelled`);
      } catch (err) {
        notes.push(`vCenter job ${vcStart.jobId} could not be cancelled: ${failureMessage(err)}`);
      }
    }
    if (nsxStart && !nsxDone) {
      try {
        nsxDone = await pollNsx();
      } catch (err) {
        notes.push(`the NSX backup's end was not seen: ${failureMessage(err)}`);
      }
    }
    let located: { nsx: string[]; vcenter: string[] } | undefined;
    if (nsxStart || vcStart) {
      try {
        located = await api.locateBackupFolders.executeWithOptions({ summary: 'Find the folders the products wrote for this run' }, [
          {
            target,
            ...(nsxStart ? { nsx: { startMs: nsxDone?.startTime ?? nsxStart.startTime ?? notBefore, endMs: nsxDone?.endTime ?? Date.now() } } : {}),
            ...(vcStart ? { vcenter: vcDone ? vcenterWindow(vcDone, notBefore) : { startMs: vcStart.startTime ? Date.parse(vcStart.startTime) : notBefore, endMs: Date.now() } } : {}),
          },
        ]);
      } catch (err) {
        notes.push(`the product folders were not found: ${failureMessage(err)}`);
      }
    }
    const all = [...warnings, ...notes];
    await durable.writeBackupSetManifest
      .executeWithOptions({ summary: `Record ${status} set ${setId}` }, [
        {
          target,
          manifest: {
            ...manifestBase,
            status,
            failureReason: reason,
            endedAt: new Date().toISOString(),
            ...parts(located && { folders: located.nsx, files: [] }, located && { folders: located.vcenter, files: [] }),
            totals: { files: 0, bytes: 0 },
            ...(iks ? { iks } : {}),
            ...(all.length ? { warnings: all } : {}),
          },
        },
      ])
      .catch(() => undefined); // past the deadline: the catalog shows the set as abandoned
  }

  // The set is complete and recorded as such: nothing below may change that. A cancel from here on
  // ends the run Cancelled and leaves the manifest complete.
  let pruned: PruneOutcome | undefined;
  if (target.retention) {
    current = 'retention';
    mark('retention', 'running');
    try {
      pruned = await api.pruneBackupSets.executeWithOptions({ summary: 'Apply the retention policy', startToCloseTimeout: '1h', heartbeatTimeout: '30s' }, [
        { target, dryRun: false, nowMs: Date.now() },
      ]);
      mark('retention', 'done', `${pruned.expired.length} set(s) expired, ${pruned.filesDeleted} file(s) deleted`);
      for (const r of pruned.refused ?? []) warnings.push(`retention refused set ${r.setId}: ${r.reason}`);
    } catch (err) {
      if (isCancellation(err)) {
        mark('retention', 'failed', 'cancelled (the set is complete)');
        throw err;
      }
      // The set is complete and verified; a failed prune is a warning, not a failed backup.
      warnings.push(`retention failed: ${failureMessage(err)}`);
      mark('retention', 'failed', failureMessage(err));
    }
  } else {
    mark('retention', 'done', 'no retention policy: nothing deleted');
  }
  countSet('complete');
  await writeReport();
  let appDataReminders: ReminderStart[] | undefined;
  if (config.appData.runWithBackup && config.iksClusters.length) {
    appDataReminders = await startAppDataReminders({ site, config, setId });
  }
  return {
    status: 'complete',
    setId,
    site,
    manifestPath,
    ...(pruned ? { pruned } : {}),
    ...(warnings.length ? { warnings } : {}),
    ...(iks ? { iks } : {}),
    ...(appDataReminders ? { appDataReminders } : {}),
    startedAt: manifest.startedAt,
    endedAt: manifest.endedAt,
    nsx: { backupId: manifest.nsx!.backupId!, ...totalsOf(manifest.nsx!.files) },
    vcenter: { jobId: manifest.vcenter!.jobId, ...totalsOf(manifest.vcenter!.files) },
    totals: manifest.totals,
  };
}

/** The vCenter folder is named after the job's start; its window ends when the job did. */
function vcenterWindow(s: VcenterBackupState, notBefore: number): { startMs: number; endMs: number } {
  return { startMs: s.startTime ? Date.parse(s.startTime) : notBefore, endMs: s.endTime ? Date.parse(s.endTime) : Date.now() };
}

function isoOf(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

function failureType(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof ApplicationFailure && cause.type ? cause.type : 'BackupFailed';
}
