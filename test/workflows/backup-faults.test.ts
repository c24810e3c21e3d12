import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as real from '../../activities/index.js';
import { sftpEndpoint } from '../../activities/endpoints.js';
import { runLivenessFrom } from '../../src/temporal/run-liveness.js';
import { productFolders, unreferencedFolders } from '../../src/catalog/prune.js';
import { SftpStore } from '../../src/catalog/store.js';
import { withSftp } from '../../src/providers/sftp/client.js';
import { backupRunTimeoutMs, catalogStatus, type BackupSetManifest } from '../../src/domain/backup-set.js';
import { parseDuration } from '../../src/domain/duration.js';
import type { SiteConfig } from '../../src/config/schema.js';
import { progressQuery } from '../../workflows/backup/coordinated-backup.js';
import { lockStateQuery, lockWorkflowId } from '../../workflows/locks/endpoint-lock.js';
import { endpointResource } from '../../src/domain/backup-set.js';
import { backupStarter, startWorkerEnv } from '../fixtures/temporal.js';
import { setFaults, type TestLab } from '../fixtures/lab.js';
import { manifestsOnDisk } from '../fixtures/manifest.js';
import { until } from '../fixtures/wait.js';

/**
 * One table per workflow (ARCHITECTURE.md): step × fault → the end state of the run, of the set's
 * manifest and of the products. Activities are the real ones behind a gate that holds one chosen
 * call until the test has done its damage (cancel, terminate, an SFTP outage).
 */
type ActivityName = keyof typeof real;
let gate: { name: ActivityName; when?: (input: never) => boolean; hit: () => void; released: Promise<void> } | undefined;
function arm(name: ActivityName, when?: (input: never) => boolean): { wasHit: Promise<void>; release: () => void } {
  let release!: () => void;
  let hit!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const wasHit = new Promise<void>((r) => (hit = r));
  gate = { name, when, hit, released };
  return { wasHit, release: () => release() };
}
const activities = Object.fromEntries(
  Object.entries(real).map(([name, fn]) => [
    name,
    async (...args: unknown[]) => {
      const g = gate;
      if (g && g.name === name && (!g.when || g.when(args[0] as never))) {
        gate = undefined;
        g.hit();
        await g.released;
      }
      return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
    },
  ]),
);

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
const taskQueue = 'faults';

beforeAll(async () => {
  ({ env, lab, stop } = await startWorkerEnv({ site: 'faults', taskQueue, activities }));
});

afterAll(async () => stop?.());

const backups = backupStarter(() => ({ env, lab }), taskQueue);
afterEach(backups.restore);
const start = backups.start;
const manifestOf = (setId: string): BackupSetManifest | undefined => manifestsOnDisk(lab.targetOnDisk).find((m) => m.setId === setId);
async function storeDo<T>(fn: (s: SftpStore) => Promise<T>): Promise<T> {
  return withSftp(await sftpEndpoint(lab.config.backupTarget), (sftp) => fn(new SftpStore(sftp, lab.config.backupTarget.directory)));
}
/** Who holds the lab's NSX and vCenter locks (undefined: free, or no lock workflow yet). */
const lockHolders = () =>
  Promise.all(
    [endpointResource('nsx', lab.config.nsx.url), endpointResource('vcenter', lab.config.vcenter.url)].map((r) =>
      env.client.workflow.getHandle(lockWorkflowId(r)).query(lockStateQuery).then((s) => s.holder?.workflowId, () => undefined),
    ),
  );
const productsIdle = () => until('the products to finish their jobs', async () => !lab.vcenter.jobRunning() && (await lab.nsx.idle(), true));
const withRetention = (keepLast: number): SiteConfig => ({ ...lab.config, backupTarget: { ...lab.config.backupTarget, retention: { keepLast } } });

async function outcome(handle: WorkflowHandle): Promise<unknown> {
  return handle.result().then(() => 'completed', (e: unknown) => (e instanceof WorkflowFailedError ? e.cause : e));
}

interface CancelCase {
  step: string;
  gate: ActivityName;
  when?: (input: never) => boolean;
  /** The manifest the run leaves; undefined: it never wrote one (cancelled before it marked the set running). */
  manifest?: BackupSetManifest['status'];
  /** Both products were asked to back up, so both must be recorded. */
  products: boolean;
  retention?: boolean;
  /** How the run ends: a cancel that arrives during the commit of a verified set loses to it. */
  ends?: 'COMPLETED';
}

const CANCEL_AT: CancelCase[] = [
  { step: 'preflight', gate: 'preflightBackupTarget', products: false },
  { step: 'exclusive', gate: 'requestEndpointLock', manifest: 'cancelled', products: false },
  { step: 'nsxConfig', gate: 'ensureNsxBackupConfig', manifest: 'cancelled', products: false },
  { step: 'startBackups', gate: 'startVcenterBackup', manifest: 'cancelled', products: true },
  { step: 'waitNsx', gate: 'waitForNsxBackup', manifest: 'cancelled', products: true },
  { step: 'verify', gate: 'verifyVcenterBackup', manifest: 'cancelled', products: true },
  { step: 'manifest', gate: 'writeBackupSetManifest', when: (i: { manifest: BackupSetManifest }) => i.manifest.status === 'complete', manifest: 'complete', products: true, ends: 'COMPLETED' },
  { step: 'retention', gate: 'pruneBackupSets', manifest: 'complete', products: true, retention: true },
];

describe('coordinatedBackup under cancel, terminate and outages (real Temporal, lab, real sshd)', () => {
  it.each(CANCEL_AT)('a cancel at $step: the run ends as it should, the set $manifest, no vCenter job left running, nothing orphaned', async (c) => {
    // A vCenter job long enough to still be running when the cancel arrives early on.
    await setFaults(lab.vcenter.url, { jobDurationMs: ['startBackups', 'waitNsx'].includes(c.step) ? 4000 : 600 });
    const cancelsBefore = lab.vcenter.cancelCount();
    const { wasHit, release } = arm(c.gate, c.when);
    const handle = await start(c.retention ? withRetention(100) : lab.config);
    await wasHit;
    await handle.cancel();
    await new Promise((r) => setTimeout(r, 300));
    release();

    const end = await outcome(handle);
    const { setId, steps } = await handle.query(progressQuery);
    if (c.ends === 'COMPLETED') {
      expect(end).toBe('completed');
      expect((await handle.describe()).status.name).toBe('COMPLETED');
    } else {
      expect(end).toBeInstanceOf(CancelledFailure);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      // The step the cancel hit says so (startBackups is not cancellable: the cancel lands right after it).
      expect(steps.find((s) => s.name === (c.step === 'startBackups' ? 'waitNsx' : c.step))?.status).toBe('failed');
    }

    const m = manifestOf(setId);
    if (!c.manifest) expect(m).toBeUndefined();
    else {
      expect(m?.status).toBe(c.manifest);
      if (c.manifest === 'complete') expect(m!.verifiedAt).toBeTruthy();
      else expect(m!.failureReason).toMatch(/cancelled/);
      expect(!!m!.nsx && !!m!.vcenter).toBe(c.products);
    }
    if (['startBackups', 'waitNsx'].includes(c.step)) expect(lab.vcenter.cancelCount()).toBe(cancelsBefore + 1);
    await productsIdle();
    expect(lab.vcenter.jobRunning()).toBe(false);
    // Every folder the products wrote is listed by some manifest, so retention can free it.
    expect(await storeDo((s) => unreferencedFolders(s))).toEqual([]);
    // And the run let go of NSX Manager and vCenter.
    await until('the endpoint locks to be free', async () => (await lockHolders()).every((h) => h === undefined) || undefined, 30_000);
    await setFaults(lab.vcenter.url, { jobDurationMs: 600 });
  });

  it('runs carry an execution timeout derived from backup.timeout, and the manifest records the deadline', async () => {
    const handle = await start();
    await handle.result();
    const d = await handle.describe();
    const timeoutMs = backupRunTimeoutMs(parseDuration(lab.config.backup.timeout));
    expect(Number(d.raw.executionConfig?.workflowExecutionTimeout?.seconds)).toBe(timeoutMs / 1000);
    const m = manifestOf((await handle.query(progressQuery)).setId)!;
    expect(m.runDeadline).toBe(Date.parse(m.startedAt) + timeoutMs);
  });

  it('a terminated run leaves a set the catalog shows as abandoned, and whose product folders retention can still find', async () => {
    await setFaults(lab.vcenter.url, { jobDurationMs: 2500 });
    const { wasHit, release } = arm('waitForVcenterBackup');
    const handle = await start();
    await wasHit;
    await handle.terminate('operator pulled the plug');
    release();
    const setId = (await handle.query(progressQuery)).setId;
    const m = manifestOf(setId)!;
    expect(m.status).toBe('running');
    expect(m.vcenter?.jobId).toBeTruthy();
    expect(m.nsx?.startTime).toBeTruthy();
    const closed = await runLivenessFrom(env.client)(m);
    expect(closed).toBe(true);
    expect(catalogStatus(m, closed, Date.now())).toBe('abandoned');
    // Nobody cancels the vCenter job of a terminated run: it finishes and writes its folder.
    await productsIdle();
    expect(await storeDo((s) => unreferencedFolders(s))).toEqual([]);
    await setFaults(lab.vcenter.url, { jobDurationMs: 600 });
  });

  it('SFTP down when a failed run records its set: the write is retried until the target answers, and the half that succeeded is recorded', async () => {
    await setFaults(lab.vcenter.url, { failJob: { message: 'Location is not accessible. Check the path and the permissions of the backup user.' } });
    const { wasHit, release } = arm('writeBackupSetManifest', (i: { manifest: BackupSetManifest }) => i.manifest.status === 'failed');
    const handle = await start();
    await wasHit;
    await lab.sftp.down!();
    release();
    await new Promise((r) => setTimeout(r, 10_000)); // longer than the old budget of three attempts
    await lab.sftp.up!();

    const end = await outcome(handle);
    expect(end).toBeInstanceOf(ApplicationFailure);
    expect((end as ApplicationFailure).type).toBe('VcenterBackupFailed');
    const setId = (await handle.query(progressQuery)).setId;
    const m = manifestOf(setId)!;
    expect(m.status).toBe('failed');
    expect(m.failureReason).toMatch(/Location is not accessible/);
    expect(m.nsx!.folders!.length).toBeGreaterThanOrEqual(1);
    for (const f of m.nsx!.folders!) expect(existsSync(join(lab.targetOnDisk, f))).toBe(true);
    const attempts = (await handle.fetchHistory()).events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
    expect(Math.max(...attempts)).toBeGreaterThan(3);
    expect(await storeDo((s) => unreferencedFolders(s))).toEqual([]);
  });

  it('retention after a complete run frees every earlier set — failed, abandoned, complete — and leaves no product folder behind', async () => {
    // (The cancelled sets went already: the retention case above expired them, superseded by newer complete sets.)
    const before = manifestsOnDisk(lab.targetOnDisk);
    expect(new Set(before.map((m) => m.status))).toEqual(new Set(['complete', 'failed', 'running']));
    const result = await (await start(withRetention(1))).result();
    expect(result.pruned!.expired.map((e) => e.setId).sort()).toEqual(before.map((m) => m.setId).sort());
    expect(manifestsOnDisk(lab.targetOnDisk).map((m) => m.setId)).toEqual([result.setId]);
    const left = await storeDo((s) => productFolders(s));
    expect(left.map((f) => f.folder).sort()).toEqual([...manifestOf(result.setId)!.nsx!.folders!, ...manifestOf(result.setId)!.vcenter!.folders!].sort());
  });
});
