import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { NsxConfig, VcenterConfig } from '../../src/config/schema.js';
import { productProgressSignal, type ProductProgress } from '../../src/temporal/progress.js';
import { classify, nonRetryable } from '../failures.js';
import { getNsxBackupState, type NsxFinishedBackup } from './nsx-backup.js';
import { backupStateOf, type VcenterBackupState } from './vcenter-backup.js';
import { VcenterClient } from '../../src/providers/vcenter/client.js';
import { vcenterEndpoint } from '../endpoints.js';

/** Heartbeats at least this often while waiting: a killed worker is noticed within the heartbeat timeout. */
const HEARTBEAT_EVERY_MS = 3_000;
/** Progress reaches the run (and the Web UI) at most this often: each report is an event in its history. */
export const PROGRESS_EVERY_MS = 5 * 60_000;
/** How many looks at NSX that find nothing (accepted, not running, not in history) before giving up. */
const NSX_NOT_FOUND_LIMIT = 6;

/** Progress for the run's checklist; best effort (the wait's result is what counts). */
async function report(step: ProductProgress['step'], detail: string | undefined): Promise<void> {
  try {
    const ctx = Context.current();
    const run = ctx.info.workflowExecution;
    if (run) await ctx.client.workflow.getHandle(run.workflowId, run.runId).signal(productProgressSignal, { step, detail });
  } catch {
    /* no client (a test harness) or the run is gone */
  }
}

export interface WaitInput {
  pollIntervalMs: number;
  /** Epoch ms: the run's backup deadline. Outages shorter than the time left are ridden out. */
  deadlineMs: number;
}

/**
 * Polls until `look` gives a final answer. A product or network problem that a retry could fix
 * (5xx, timeouts, refused connections) is ridden out until the deadline, heartbeating; only a
 * problem no retry fixes (credentials, a 404) ends the wait early. Cancellation is honoured.
 */
async function pollUntil<T>(what: string, step: ProductProgress['step'], o: WaitInput, look: () => Promise<{ done: T } | { detail?: string }>): Promise<T> {
  const ctx = Context.current();
  let trouble: string | undefined;
  let lastDetail: string | undefined;
  let lastReport = 0;
  for (;;) {
    try {
      const r = await look();
      if ('done' in r) return r.done;
      trouble = undefined;
      if (r.detail !== lastDetail && Date.now() - lastReport >= PROGRESS_EVERY_MS) {
        lastDetail = r.detail;
        lastReport = Date.now();
        await report(step, r.detail);
      }
    } catch (err) {
      const f = classify(err);
      if (f instanceof ApplicationFailure && f.nonRetryable) throw f;
      trouble = f.message;
    }
    if (Date.now() + o.pollIntervalMs > o.deadlineMs) {
      throw nonRetryable('BackupTimedOut', `${what} did not finish before the run's deadline${trouble ? ` (the product was not answering: ${trouble})` : ''}`);
    }
    for (let left = o.pollIntervalMs; left > 0; left -= HEARTBEAT_EVERY_MS) {
      ctx.heartbeat({ trouble, detail: lastDetail });
      await ctx.sleep(Math.min(left, HEARTBEAT_EVERY_MS));
    }
  }
}

export type NsxFinished = NsxFinishedBackup & { state: 'succeeded' | 'failed' };

/** Waits in one activity for the NSX backup to end (NSX cannot cancel one: it always runs to its end). */
export async function waitForNsxBackup(i: WaitInput & { nsx: NsxConfig; notBefore: number; backupId?: string }): Promise<NsxFinished> {
  let misses = 0;
  return pollUntil<NsxFinished>('the NSX backup', 'waitNsx', i, async () => {
    const s = await getNsxBackupState({ nsx: i.nsx, notBefore: i.notBefore, backupId: i.backupId });
    if (s.state === 'succeeded' || s.state === 'failed') return { done: s as NsxFinished };
    if (s.state === 'not-found' && ++misses >= NSX_NOT_FOUND_LIMIT) {
      throw nonRetryable('NsxBackupFailed', 'NSX Manager accepted the backup request but no backup ran: check the manager\'s backup page and its syslog');
    }
    // NSX's own sentence ("Creating cluster backup"), not its step code, when it gives one.
    return { detail: s.state === 'running' ? (s.message ?? s.step) : undefined };
  });
}

export type VcenterFinished = VcenterBackupState & { state: 'SUCCEEDED' | 'FAILED' };

/**
 * Waits in one activity for the appliance's backup job to end, on one session for all its polls
 * (the client logs in again only if the appliance expired the session).
 */
export async function waitForVcenterBackup(i: WaitInput & { vcenter: VcenterConfig; jobId: string }): Promise<VcenterFinished> {
  let client: VcenterClient | undefined;
  try {
    return await pollUntil<VcenterFinished>(`vCenter backup job ${i.jobId}`, 'waitVcenter', i, async () => {
      if (!client) {
        const c = new VcenterClient(await vcenterEndpoint(i.vcenter));
        await c.login();
        client = c;
      }
      const s = backupStateOf(await client.getJob(i.jobId));
      if (s.state === 'SUCCEEDED' || s.state === 'FAILED') return { done: s as VcenterFinished };
      return { detail: `${Math.floor(s.progress / 10) * 10}%` };
    });
  } finally {
    await client?.logout();
  }
}
