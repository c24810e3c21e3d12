import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { BackupTarget, VcenterConfig } from '../../src/config/schema.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { BackupAlreadyRunningError, withVcenter, type VcenterClient } from '../../src/providers/vcenter/client.js';
import type { BackupJobStatus } from '../../src/providers/vcenter/types.js';
import { targetLayout } from '../../src/domain/backup-set.js';
import { vcenterEndpoint } from '../endpoints.js';
import { guarded } from '../failures.js';

export interface VcenterStartInput {
  vcenter: VcenterConfig;
  target: BackupTarget;
  notBefore: number;
  comment: string;
}

export interface VcenterStartResult {
  how: 'started' | 'adopted';
  jobId: string;
  /** ISO time the job began (its folder is named after it). */
  startTime?: string;
  location: string;
  version?: string;
}

export function vcenterLocation(target: BackupTarget): string {
  return `sftp://${target.host}:${target.port}${targetLayout(target.directory).vcenterDir}`;
}

/** The newest jobs: one running, and one that began since this run did (only a retry may call it its own). */
async function recentJobs(c: VcenterClient, notBefore: number): Promise<{ running?: BackupJobStatus; sinceStart?: BackupJobStatus }> {
  const out: { running?: BackupJobStatus; sinceStart?: BackupJobStatus } = {};
  for (const id of (await c.listJobIds()).slice(0, 10)) {
    const job = await c.getJob(id);
    if (job.state === 'INPROGRESS') out.running ??= job;
    if ((job.start_time ? Date.parse(job.start_time) : 0) >= notBefore) out.sinceStart ??= job;
  }
  return out;
}

function busy(job: BackupJobStatus | undefined): ApplicationFailure {
  return ApplicationFailure.create({ type: 'ProductBusy', message: `the vCenter appliance is running backup job ${job?.id ?? '(unknown)'}, which this run did not start (the appliance's own schedule or another tool); waiting for it to end` });
}

/**
 * Starts the appliance backup job to the shared SFTP target. Only a retry of this call may adopt a
 * job (the first attempt may have started it unseen); a first attempt that finds a job running did
 * not start it, and waits for the appliance to be free (retryable).
 */
export async function startVcenterBackup({ vcenter, target, notBefore, comment }: VcenterStartInput): Promise<VcenterStartResult> {
  const retry = Context.current().info.attempt > 1;
  return guarded(async () =>
    withVcenter(await vcenterEndpoint(vcenter), async (c) => {
      const version = (await c.getVersion().catch(() => undefined))?.version;
      const location = vcenterLocation(target);
      const jobs = await recentJobs(c, notBefore);
      if (retry && jobs.sinceStart) return { how: 'adopted', jobId: jobs.sinceStart.id, startTime: jobs.sinceStart.start_time, location, version };
      if (jobs.running) throw busy(jobs.running);
      try {
        const job = await c.startBackupJob({
          parts: vcenter.parts,
          location_type: 'SFTP',
          location,
          location_user: target.user,
          location_password: target.password ? await resolveSecret(target.password) : '',
          backup_password: await resolveSecret(vcenter.backupPassword),
          comment,
        });
        return { how: 'started', jobId: job.id, startTime: job.start_time, location, version };
      } catch (err) {
        if (!(err instanceof BackupAlreadyRunningError)) throw err;
        throw busy((await recentJobs(c, notBefore)).running);
      }
    }),
  );
}

export type VcenterBackupState = {
  state: BackupJobStatus['state'];
  progress: number;
  startTime?: string;
  endTime?: string;
  message?: string;
};

export function backupStateOf(job: BackupJobStatus): VcenterBackupState {
  return {
    state: job.state,
    progress: job.progress,
    startTime: job.start_time,
    endTime: job.end_time,
    message: job.messages?.map((m) => m.default_message).join('; ') || undefined,
  };
}

/**
 * Cancels the vCenter job a failed or cancelled run started, if it still runs (check, then act),
 * and waits briefly for the appliance to settle. Returns the job's final state as far as it got.
 */
export async function cancelVcenterBackup({ vcenter, jobId }: { vcenter: VcenterConfig; jobId: string }): Promise<VcenterBackupState & { cancelled: boolean }> {
  return guarded(async () =>
    withVcenter(await vcenterEndpoint(vcenter), async (c) => {
      let job = await c.getJob(jobId);
      let cancelled = false;
      if (job.state === 'INPROGRESS') {
        const r = await c.cancelJob(jobId);
        cancelled = r.status !== 'FAIL';
        for (let i = 0; i < 30 && job.state === 'INPROGRESS'; i++) {
          Context.current().heartbeat({ waitingForCancel: jobId });
          await new Promise((res) => setTimeout(res, 1000));
          job = await c.getJob(jobId);
        }
      }
      return { cancelled, ...backupStateOf(job) };
    }),
  );
}
