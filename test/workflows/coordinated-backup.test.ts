import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as activities from '../../activities/index.js';
import { BackupAlreadyRunning } from '../../src/temporal/backup-runs.js';
import { failureReason } from '../../src/cli/backup-run.js';
import { progressQuery } from '../../workflows/backup/coordinated-backup.js';
import { PROGRESS_EVERY_MS } from '../../activities/backup/product-wait.js';
import { until } from '../fixtures/wait.js';
import { backupStarter, startWorkerEnv } from '../fixtures/temporal.js';
import { labFetch, setFaults, type TestLab } from '../fixtures/lab.js';
import { manifestsOnDisk, sha256OnDisk } from '../fixtures/manifest.js';

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
const taskQueue = 'wf-test';

beforeAll(async () => {
  ({ env, lab, stop } = await startWorkerEnv({ site: 'lab', taskQueue, activities }));
});

afterAll(async () => stop?.());

const backups = backupStarter(() => ({ env, lab }), taskQueue);
afterEach(backups.restore);
const start = backups.start;

/** Every secret value the lab config refers to (all of them live in the lab's secrets folder). */
function secretValues(): string[] {
  const dir = join(lab.dir, 'secrets');
  const values = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8').trim());
  expect(values.length).toBeGreaterThanOrEqual(6);
  return values;
}

async function expectFailure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

describe('coordinatedBackup on a real Temporal server against the lab', () => {
  it('produces a complete, verified backup set whose files hash to the manifest', async () => {
    const handle = await start();
    const result = await handle.result();
    expect(result.status).toBe('complete');

    const manifest = manifestsOnDisk(lab.targetOnDisk).find((m) => m.setId === result.setId)!;
    expect(manifest.status).toBe('complete');
    expect(manifest.nsx!.files.length).toBeGreaterThanOrEqual(3);
    expect(manifest.vcenter!.files.some((f) => f.path.endsWith('backup-metadata.json'))).toBe(true);
    for (const f of [...manifest.nsx!.files, ...manifest.vcenter!.files]) {
      expect(sha256OnDisk(join(lab.targetOnDisk, f.path)), f.path).toBe(f.sha256);
    }
    expect(manifest.totals.files).toBe(result.totals.files);
    expect(manifest.nsx!.passphraseRef).toBe(lab.config.nsx.backupPassphrase);

    const progress = await handle.query(progressQuery);
    expect(progress.steps.every((s) => s.status === 'done')).toBe(true);

    const desc = await handle.describe();
    expect(desc.searchAttributes).toMatchObject({ SddcSite: [lab.site], SddcOperation: ['coordinated-backup'], BackupSetId: [result.setId] });

    const history = JSON.stringify(await handle.fetchHistory());
    for (const secret of secretValues()) expect(history.includes(secret)).toBe(false);
    // Every activity call carries a summary for the Web UI.
    const scheduled = (await handle.fetchHistory()).events!.filter((e) => e.activityTaskScheduledEventAttributes);
    expect(scheduled.length).toBeGreaterThan(5);
    expect(scheduled.every((e) => e.userMetadata?.summary)).toBe(true);
  });

  it('waits inside one heartbeating activity per product: the history does not grow with the backup\'s length', async () => {
    await setFaults(lab.vcenter.url, { jobDurationMs: 6000 }); // six poll rounds at 1 s
    try {
      const handle = await start();
      await handle.result();
      const events = (await handle.fetchHistory()).events!;
      const scheduled = events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
      expect(scheduled.filter((n) => n === 'waitForVcenterBackup')).toHaveLength(1);
      expect(scheduled.filter((n) => n === 'waitForNsxBackup')).toHaveLength(1);
      // No timer per poll round: the only timers bound the two endpoint-lock waits.
      expect(events.filter((e) => e.timerStartedEventAttributes)).toHaveLength(2);
      // A 4-hour backup adds only the throttled progress reports (one per product per PROGRESS_EVERY_MS).
      const fourHours = events.length + 2 * Math.ceil((4 * 3_600_000) / PROGRESS_EVERY_MS);
      expect(fourHours).toBeLessThan(300);
    } finally {
      await setFaults(lab.vcenter.url, { jobDurationMs: 600 });
    }
  });

  it('rides out a one-minute API outage of both products while their jobs run', { timeout: 180_000 }, async () => {
    await setFaults(lab.vcenter.url, { jobDurationMs: 5000 });
    await setFaults(lab.nsx.url, { jobDurationMs: 5000 });
    try {
      const handle = await start();
      await until('the waits to begin', async () => (await handle.query(progressQuery)).steps.find((x) => x.name === 'waitVcenter')?.status === 'running' || undefined);
      // Longer than the old budget (six poll attempts over about 50 s), far shorter than backup.timeout.
      await setFaults(lab.vcenter.url, { outageMs: 60_000 });
      await setFaults(lab.nsx.url, { outageMs: 60_000 });
      const result = await handle.result();
      expect(result.status).toBe('complete');
      expect(Date.parse(result.endedAt) - Date.parse(result.startedAt)).toBeGreaterThan(60_000);
    } finally {
      await setFaults(lab.vcenter.url, { jobDurationMs: 600 });
      await setFaults(lab.nsx.url, { jobDurationMs: 400 });
    }
  });

  it('is idempotent towards NSX: a second backup does not rewrite the backup configuration', async () => {
    const writesBefore = lab.nsx.configWrites();
    await (await start()).result();
    expect(lab.nsx.configWrites()).toBe(writesBefore);
  });

  it('refuses a second backup of the same site while one runs, naming the running one', async () => {
    await setFaults(lab.nsx.url, { jobDurationMs: 3000 });
    const first = await start();
    const second = await start().then(() => undefined, (e: unknown) => e);
    expect(second).toBeInstanceOf(BackupAlreadyRunning);
    expect((second as BackupAlreadyRunning).runId).toBe(first.firstExecutionRunId);
    await first.result();
    await setFaults(lab.nsx.url, { jobDurationMs: 400 });
  });

  it('fails with NSX\'s own message when the NSX job FAILS, and no manifest claims complete', async () => {
    await setFaults(lab.nsx.url, { failJob: { message: 'Backup server disk is full', code: 'BACKUP_GENERIC_ERROR' } });
    const handle = await start();
    const failure = await expectFailure(handle.result());
    expect(failure.type).toBe('NsxBackupFailed');
    expect(failure.message).toContain('Backup server disk is full');
    expect(failure.message).toMatch(/at step "waitNsx"/);
    const setId = (await handle.query(progressQuery)).setId;
    const mine = manifestsOnDisk(lab.targetOnDisk).filter((m) => m.setId === setId);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.status).toBe('failed');
    expect(mine[0]!.failureReason).toContain('disk is full');
  });

  it('rides out a burst of vCenter 5xx answers and completes', async () => {
    await setFaults(lab.vcenter.url, { http5xx: 2 });
    const result = await (await start()).result();
    expect(result.status).toBe('complete');
    const faults = (await (await labFetch(`${lab.vcenter.url}/lab/faults`)).json()) as { http5xx?: number };
    expect(faults.http5xx).toBe(0);
  });

  it('catches a corrupted vCenter upload in verification', async () => {
    await setFaults(lab.vcenter.url, { upload: 'corrupt' });
    const handle = await start();
    const failure = await expectFailure(handle.result());
    expect(failure.type).toBe('VerificationFailed');
    expect(failureReason(await handle.result().catch((e: unknown) => e))).toMatch(/damaged gzip stream/);
    const setId = (await handle.query(progressQuery)).setId;
    expect(manifestsOnDisk(lab.targetOnDisk).filter((m) => m.setId === setId).map((m) => m.status)).toEqual(['failed']);
  });

  it('catches a truncated NSX upload in verification', async () => {
    await setFaults(lab.nsx.url, { upload: 'truncate' });
    const failure = await expectFailure((await start()).result());
    expect(failure.type).toBe('VerificationFailed');
    expect(failure.message).toMatch(/empty file/);
  });

  it('stops at preflight when the SFTP host key does not match the pin, showing both fingerprints', async () => {
    const wrong = 'SHA256:' + 'A'.repeat(43);
    const config = { ...lab.config, backupTarget: { ...lab.config.backupTarget, hostKeyFingerprint: wrong } };
    const before = manifestsOnDisk(lab.targetOnDisk).length;
    const failure = await expectFailure((await start(config)).result());
    expect(failure.type).toBe('FingerprintMismatch');
    expect(failure.message).toContain(wrong);
    expect(failure.message).toContain(lab.sftp.fingerprint);
    expect(manifestsOnDisk(lab.targetOnDisk)).toHaveLength(before);
  });

  it('reports NSX refusing the SFTP server key (product-side fingerprint check)', async () => {
    await setFaults(lab.nsx.url, { badFingerprint: true });
    const failure = await expectFailure((await start()).result());
    expect(failure.type).toBe('NsxBackupFailed');
    expect(failure.message).toContain('BACKUP_BAD_FINGERPRINT');
  });

  it('wrong vCenter credentials fail the run at preflight, before any product is asked to back up', async () => {
    const before = { nsx: lab.nsx.backupsStarted(), vc: lab.vcenter.jobCount(), writes: lab.nsx.configWrites() };
    await setFaults(lab.vcenter.url, { unauthorized: true });
    try {
      const handle = await start();
      const failure = await expectFailure(handle.result());
      expect(failure.type).toBe('AuthenticationFailed');
      expect(failure.message).toMatch(/check the user and password reference/);
      expect(failure.message).toMatch(/at step "preflight"/);
      expect({ nsx: lab.nsx.backupsStarted(), vc: lab.vcenter.jobCount(), writes: lab.nsx.configWrites() }).toEqual(before);
    } finally {
      await labFetch(`${lab.vcenter.url}/lab/faults`, { method: 'DELETE' });
    }
  });

  it('a missing secret fails the run at preflight, naming the reference, with nothing started and no value printed', async () => {
    const before = { nsx: lab.nsx.backupsStarted(), vc: lab.vcenter.jobCount() };
    const missing = `file:${join(lab.dir, 'secrets', 'no-such-passphrase')}`;
    const handle = await start({ ...lab.config, nsx: { ...lab.config.nsx, backupPassphrase: missing } });
    const failure = await expectFailure(handle.result());
    expect(failure.type).toBe('SecretUnavailable');
    expect(failure.message).toContain('no-such-passphrase');
    expect({ nsx: lab.nsx.backupsStarted(), vc: lab.vcenter.jobCount() }).toEqual(before);
    const setId = (await handle.query(progressQuery)).setId;
    expect(manifestsOnDisk(lab.targetOnDisk).find((m) => m.setId === setId)).toBeUndefined();
  });

  it('when one product refuses its start, the other\'s backup (already begun) is waited for and recorded', async () => {
    // A backup password the appliance refuses (400): preflight cannot know the appliance's rules.
    const weak = join(lab.dir, 'secrets', 'weak-backup-password');
    writeFileSync(weak, 'weak\n', { mode: 0o600 });
    const handle = await start({ ...lab.config, vcenter: { ...lab.config.vcenter, backupPassword: `file:${weak}` } });
    const failure = await expectFailure(handle.result());
    expect(failure.type).toBe('BadRequest');
    expect(failure.message).toMatch(/backup_password/);
    const setId = (await handle.query(progressQuery)).setId;
    const m = manifestsOnDisk(lab.targetOnDisk).find((x) => x.setId === setId)!;
    expect(m.status).toBe('failed');
    expect(m.vcenter).toBeUndefined();
    expect(m.nsx!.folders!.length).toBeGreaterThanOrEqual(1);
  });
});
