import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runActivity, runActivityAttempt } from '../fixtures/activity.js';
import { MockActivityEnvironment } from '@temporalio/testing';
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { reverifyBackupSet } from '../../activities/backup/catalog.js';
import type { ReverifyProgress } from '../../src/catalog/reverify.js';
import { ApplicationFailure } from '@temporalio/common';
import { preflightBackupTarget } from '../../activities/backup/backup-target.js';
import { ensureNsxBackupConfig, startNsxBackup, getNsxBackupState } from '../../activities/backup/nsx-backup.js';
import { startVcenterBackup } from '../../activities/backup/vcenter-backup.js';
import { writeBackupSetManifest, verifyNsxBackup } from '../../activities/backup/backup-set.js';
import { recordAppDataAck } from '../../activities/appdata/appdata.js';
import { waitForVcenterBackup } from '../../activities/backup/product-wait.js';
import { sftpEndpoint } from '../../activities/endpoints.js';
import { readManifest, recordVerification } from '../../src/catalog/catalog.js';
import { SftpStore } from '../../src/catalog/store.js';
import { withSftp } from '../../src/providers/sftp/client.js';
import { labFetch, startTestLab, type TestLab } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { manifestsOnDisk } from '../fixtures/manifest.js';
import type { BackupSetManifest } from '../../src/domain/backup-set.js';

let lab: TestLab;
beforeAll(async () => {
  lab = await startTestLab({ site: 'acts' });
});
afterAll(async () => lab?.dispose());

const run = runActivity;

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
}

describe('activities against the lab', () => {
  it('preflight checks the pinned key and creates the product folders once', async () => {
    const first = await run(preflightBackupTarget, lab.config.backupTarget);
    expect(first.serverFingerprint).toBe(lab.sftp.fingerprint);
    expect(first.createdDirectories.map((d) => d.split('/').pop()).sort()).toEqual(['nsx', 'sets', 'vcenter']);
    const second = await run(preflightBackupTarget, lab.config.backupTarget);
    expect(second.createdDirectories).toEqual([]);
  });

  it('preflight: a missing directory is non-retryable and says what to do', async () => {
    const f = await failureOf(run(preflightBackupTarget, { ...lab.config.backupTarget, directory: '/nonexistent/backups' }));
    expect(f.type).toBe('TargetDirectoryUnusable');
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(/does not exist .* create it/);
  });

  it('preflight: a wrong password is non-retryable', async () => {
    const env = 'SDDC_TEST_WRONG_SFTP_PASSWORD';
    process.env[env] = 'wrong-password';
    const f = await failureOf(run(preflightBackupTarget, { ...lab.config.backupTarget, password: `env:${env}` }));
    expect(f.type).toBe('SftpAuthenticationFailed');
    expect(f.nonRetryable).toBe(true);
  });

  it('an unresolvable secret reference fails without retry and without a value', async () => {
    const f = await failureOf(run(ensureNsxBackupConfig, { nsx: { ...lab.config.nsx, password: 'env:SDDC_TEST_UNSET_VAR' }, target: lab.config.backupTarget }));
    expect(f.type).toBe('SecretUnavailable');
    expect(f.message).toContain('env:SDDC_TEST_UNSET_VAR');
  });

  it('NSX config: PUT on drift only, then reports no drift', async () => {
    const before = lab.nsx.configWrites();
    const first = await run(ensureNsxBackupConfig, { nsx: lab.config.nsx, target: lab.config.backupTarget });
    expect(first.changed).toBe(true);
    const second = await run(ensureNsxBackupConfig, { nsx: lab.config.nsx, target: lab.config.backupTarget });
    expect(second).toEqual({ changed: false, drift: [] });
    expect(lab.nsx.configWrites()).toBe(before + 1);
    const moved = await run(ensureNsxBackupConfig, { nsx: lab.config.nsx, target: { ...lab.config.backupTarget, directory: `${lab.config.backupTarget.directory}/elsewhere` } });
    expect(moved).toEqual({ changed: true, drift: ['directory_path'] });
    const back = await run(ensureNsxBackupConfig, { nsx: lab.config.nsx, target: lab.config.backupTarget });
    expect(back).toEqual({ changed: true, drift: ['directory_path'] });
  });

  it('NSX config: a rotated passphrase or SFTP password is sent again, though NSX never shows either', async () => {
    await run(ensureNsxBackupConfig, { nsx: lab.config.nsx, target: lab.config.backupTarget });
    const before = lab.nsx.configWrites();
    const file = lab.config.nsx.backupPassphrase.slice('file:'.length);
    const original = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, 'Rotated' + randomBytes(6).toString('hex') + 'x9!\n');
      expect(await run(ensureNsxBackupConfig, { nsx: lab.config.nsx, target: lab.config.backupTarget })).toEqual({ changed: true, drift: ['credentials'] });
      expect(lab.nsx.configWrites()).toBe(before + 1);
      expect(await run(ensureNsxBackupConfig, { nsx: lab.config.nsx, target: lab.config.backupTarget })).toEqual({ changed: false, drift: [] });
    } finally {
      writeFileSync(file, original);
    }
    expect((await run(ensureNsxBackupConfig, { nsx: lab.config.nsx, target: lab.config.backupTarget })).drift).toEqual(['credentials']);
  });

  it('NSX start: a retry adopts the backup its first attempt may have started; a first attempt never adopts', async () => {
    const notBefore = Date.now();
    const a = await run(startNsxBackup, { nsx: lab.config.nsx, notBefore });
    // A first attempt never adopts: a backup it finds running was started by someone else.
    const other = await failureOf(run(startNsxBackup, { nsx: lab.config.nsx, notBefore }));
    expect(other.type).toBe('ProductBusy');
    expect(other.nonRetryable).toBe(false);
    expect(other.message).toContain(a.backupId);
    const b = await runActivityAttempt(2, startNsxBackup, { nsx: lab.config.nsx, notBefore });
    expect(a.how).toBe('started');
    expect(b).toMatchObject({ how: 'adopted', backupId: a.backupId });
    await lab.nsx.idle();
    const state = await run(getNsxBackupState, { nsx: lab.config.nsx, notBefore, backupId: a.backupId });
    expect(state.state).toBe('succeeded');
    if (state.state !== 'succeeded') return;
    const { folders, files } = await run(verifyNsxBackup, { target: lab.config.backupTarget, startMs: state.startTime, endMs: state.endTime });
    expect(files.every((f) => f.size > 0 && /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
    expect(folders).toHaveLength(1);
    // The backup folder's files, and the one inventory summary NSX wrote during this job (not the earlier tests' ones).
    const [inventory, ...others] = files.filter((f) => !f.path.startsWith(`${folders[0]}/`));
    expect(others).toEqual([]);
    expect(inventory?.path).toMatch(new RegExp(`^nsx/inventory-summary/[^/]+/inventory-${state.startTime}\\.json$`));
    expect(files.filter((f) => f.path.startsWith(`${folders[0]}/`)).length).toBeGreaterThanOrEqual(3);
  });

  it('vCenter start adopts only on a retry of its own call, never a job someone else started', async () => {
    const notBefore = Date.now();
    const input = { vcenter: lab.config.vcenter, target: lab.config.backupTarget, notBefore, comment: 'test' };
    const a = await run(startVcenterBackup, input);
    expect((await failureOf(run(startVcenterBackup, input))).type).toBe('ProductBusy');
    // A job that began before this run is never its own, even on a retry.
    expect((await failureOf(runActivityAttempt(2, startVcenterBackup, { ...input, notBefore: Date.now() + 60_000 }))).type).toBe('ProductBusy');
    const b = await runActivityAttempt(2, startVcenterBackup, input);
    expect(a.how).toBe('started');
    expect(b).toMatchObject({ how: 'adopted', jobId: a.jobId });
    expect(lab.vcenter.jobCount()).toBe(1);
  });

  it('writes the manifest atomically and replaces it whole', async () => {
    const manifest = { schemaVersion: 1, setId: 'acts-20260101T000000Z', site: 'acts', status: 'failed', failureReason: 'x', startedAt: '', endedAt: '', workflow: { workflowId: 'w', runId: 'r' }, target: { host: '', port: 22, directory: '', hostKeyFingerprint: '' }, totals: { files: 0, bytes: 0 } } as BackupSetManifest;
    await run(writeBackupSetManifest, { target: lab.config.backupTarget, manifest });
    await run(writeBackupSetManifest, { target: lab.config.backupTarget, manifest: { ...manifest, failureReason: 'second' } });
    const found = manifestsOnDisk(lab.targetOnDisk).filter((m) => m.setId === manifest.setId);
    expect(found).toHaveLength(1);
    expect(found[0]!.failureReason).toBe('second');
  });

  it('never downgrades a complete set: a late failure write keeps it complete, with its verifications', async () => {
    const base = { schemaVersion: 1, setId: 'acts-20260102T000000Z', site: 'acts', startedAt: '2026-01-02T00:00:00.000Z', endedAt: '', workflow: { workflowId: 'w', runId: 'r' }, target: { host: '', port: 22, directory: '', hostKeyFingerprint: '' }, totals: { files: 0, bytes: 0 } } as const;
    await run(writeBackupSetManifest, { target: lab.config.backupTarget, manifest: { ...base, status: 'complete', verifiedAt: '2026-01-02T00:01:00.000Z', verifications: [{ at: 'x', ok: true, problems: [] }] } });
    const late = await run(writeBackupSetManifest, { target: lab.config.backupTarget, manifest: { ...base, status: 'failed', failureReason: 'late' } });
    expect(late).toMatchObject({ status: 'complete', written: false });
    const m = manifestsOnDisk(lab.targetOnDisk).find((x) => x.setId === base.setId)!;
    expect(m).toMatchObject({ status: 'complete', verifiedAt: '2026-01-02T00:01:00.000Z' });
    expect(m.failureReason).toBeUndefined();
  });

  it('concurrent verifications and app-data acknowledgements on one set all land (real sshd, one lock per set)', async () => {
    const setId = 'acts-20260103T000000Z';
    const manifest = { schemaVersion: 1, setId, site: 'acts', status: 'complete', startedAt: '2026-01-03T00:00:00.000Z', endedAt: '', verifiedAt: 'x', workflow: { workflowId: 'w', runId: 'r' }, target: { host: '', port: 22, directory: '', hostKeyFingerprint: '' }, totals: { files: 0, bytes: 0 } } as BackupSetManifest;
    await run(writeBackupSetManifest, { target: lab.config.backupTarget, manifest });
    const target = lab.config.backupTarget;
    const verify = (i: number) =>
      withSftp(sftpEndpointSync, (sftp) => recordVerification(new SftpStore(sftp, target.directory), setId, `2026-01-03T00:0${i}:00.000Z`, { ok: true, checked: 0, problems: [] }));
    const ack = (i: number) => run(recordAppDataAck, { target, setId, clusterId: `cluster-${i}`, ack: { acknowledgedBy: `owner-${i}`, at: 'now', remindersSent: 1, escalated: false } });
    const sftpEndpointSync = await sftpEndpoint(target);
    await Promise.all([0, 1, 2, 3, 4].flatMap((i) => [verify(i), ack(i)]));
    const m = await withSftp(sftpEndpointSync, (sftp) => readManifest(new SftpStore(sftp, target.directory), setId));
    expect(m.verifications).toHaveLength(5);
    expect(Object.keys(m.appData!).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `cluster-${i}`));
    expect(m.revision).toBe(11);
  });

  it('a wait rides out an outage across many poll rounds, but ends at once on a problem no retry fixes', async () => {
    const input = { vcenter: lab.config.vcenter, target: lab.config.backupTarget, notBefore: Date.now(), comment: 'wait test' };
    await labFetch(`${lab.vcenter.url}/lab/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobDurationMs: 1500 }) });
    try {
      await until('no vCenter job running', () => !lab.vcenter.jobRunning() || undefined);
      const job = await run(startVcenterBackup, input);
      await labFetch(`${lab.vcenter.url}/lab/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ outageMs: 3000 }) });
      const done = await run(waitForVcenterBackup, { vcenter: lab.config.vcenter, jobId: job.jobId, pollIntervalMs: 200, deadlineMs: Date.now() + 30_000 });
      expect(done.state).toBe('SUCCEEDED');

      await labFetch(`${lab.vcenter.url}/lab/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ unauthorized: true }) });
      const t0 = Date.now();
      const f = await failureOf(run(waitForVcenterBackup, { vcenter: lab.config.vcenter, jobId: job.jobId, pollIntervalMs: 200, deadlineMs: Date.now() + 30_000 }));
      expect(f.type).toBe('AuthenticationFailed');
      expect(Date.now() - t0).toBeLessThan(5_000);

      await labFetch(`${lab.vcenter.url}/lab/faults`, { method: 'DELETE' });
      await labFetch(`${lab.vcenter.url}/lab/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ outageMs: 60_000 }) });
      const late = await failureOf(run(waitForVcenterBackup, { vcenter: lab.config.vcenter, jobId: job.jobId, pollIntervalMs: 200, deadlineMs: Date.now() + 1_500 }));
      expect(late.type).toBe('BackupTimedOut');
      expect(late.message).toMatch(/not answering: .*503/);
    } finally {
      await labFetch(`${lab.vcenter.url}/lab/faults`, { method: 'DELETE' });
    }
  });

  it('a vCenter wait polls on one session, and logs in again only when the appliance expired it', async () => {
    const setFaults = (f: object) => labFetch(`${lab.vcenter.url}/lab/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(f) });
    await setFaults({ jobDurationMs: 2500 });
    try {
      await until('no vCenter job running', () => !lab.vcenter.jobRunning() || undefined);
      const job = await run(startVcenterBackup, { vcenter: lab.config.vcenter, target: lab.config.backupTarget, notBefore: Date.now(), comment: 'session test' });
      const before = lab.vcenter.loginCount();
      const waiting = run(waitForVcenterBackup, { vcenter: lab.config.vcenter, jobId: job.jobId, pollIntervalMs: 100, deadlineMs: Date.now() + 30_000 });
      await new Promise((r) => setTimeout(r, 1_000)); // several polls on the first session
      expect(lab.vcenter.loginCount()).toBe(before + 1);
      await setFaults({ expireSessions: true });
      expect((await waiting).state).toBe('SUCCEEDED');
      expect(lab.vcenter.loginCount()).toBe(before + 2);
    } finally {
      await labFetch(`${lab.vcenter.url}/lab/faults`, { method: 'DELETE' });
    }
  });

  it('backup verify heartbeats on byte progress and resumes where its last heartbeat says after a restart', async () => {
    const folder = 'nsx/cluster-node-backups/4.2.1-n1-127.0.0.1/backup-2026-01-04T00_00_00UTC';
    const dir = join(lab.targetOnDisk, folder);
    mkdirSync(dir, { recursive: true });
    const { uid, gid } = statSync(lab.targetOnDisk);
    const files = ['a.tar', 'b.tar', 'c.tar'].map((name) => {
      const data = randomBytes(400 * 1024);
      writeFileSync(join(dir, name), data);
      return { path: `${folder}/${name}`, size: data.length, sha256: createHash('sha256').update(data).digest('hex') };
    });
    for (let p = dir; p !== lab.targetOnDisk; p = dirname(p)) chownSync(p, uid, gid);
    for (const f of files) chownSync(join(lab.targetOnDisk, f.path), uid, gid);
    const setId = 'acts-20260104T000000Z';
    const manifest = { schemaVersion: 1, setId, site: 'acts', status: 'complete', startedAt: '2026-01-04T00:00:00.000Z', endedAt: '', verifiedAt: 'x', workflow: { workflowId: 'w', runId: 'r' }, target: { host: '', port: 22, directory: '', hostKeyFingerprint: '' }, totals: { files: 3, bytes: 0 }, nsx: { passphraseRef: 'env:X', folders: [folder], files } } as BackupSetManifest;
    await run(writeBackupSetManifest, { target: lab.config.backupTarget, manifest });

    const fresh = new MockActivityEnvironment();
    const beats: ReverifyProgress[] = [];
    fresh.on('heartbeat', (d: ReverifyProgress) => beats.push(d));
    expect(await fresh.run(reverifyBackupSet, { target: lab.config.backupTarget, setId })).toMatchObject({ setId, checked: 3 });
    expect(beats.filter((b) => (b.bytes ?? 0) > 0 && (b.bytes ?? 0) < 400 * 1024).length).toBeGreaterThan(0); // inside a file, not once per file

    // A restart after the first two files, which had found a problem: only the third is read again.
    const resumed = new MockActivityEnvironment({ heartbeatDetails: { next: 2, problems: [`${files[0]!.path}: SHA-256 differs from the manifest`] } });
    const after: ReverifyProgress[] = [];
    resumed.on('heartbeat', (d: ReverifyProgress) => after.push(d));
    const f = await failureOf(resumed.run(reverifyBackupSet, { target: lab.config.backupTarget, setId }) as Promise<unknown>);
    expect(f.type).toBe('VerificationFailed');
    expect(f.message).toContain(`${files[0]!.path}: SHA-256 differs`);
    expect(after.length).toBeGreaterThan(0);
    expect(after[0]!.next).toBe(2);
    expect(after.every((b) => b.next >= 2 && b.problems.includes(`${files[0]!.path}: SHA-256 differs from the manifest`))).toBe(true);
  });

  it('the gzip check keeps up with a large archive and still catches damage deep inside it (no hang while the inflater is behind)', async () => {
    const dir = join(lab.targetOnDisk, 'vcenter', 'big');
    mkdirSync(dir, { recursive: true });
    const good = gzipSync(randomBytes(24 * 1024 * 1024), { level: 1 });
    const bad = Buffer.from(good);
    for (let i = 0; i < 64; i++) bad[Math.floor(good.length * 0.7) + i]! ^= 0xff;
    writeFileSync(join(dir, 'good.tar.gz'), good);
    writeFileSync(join(dir, 'bad.tar.gz'), bad);
    const digests = await withSftp(await sftpEndpoint(lab.config.backupTarget), async (sftp) => ({
      good: await sftp.digest(`${lab.config.backupTarget.directory}/vcenter/big/good.tar.gz`),
      bad: await sftp.digest(`${lab.config.backupTarget.directory}/vcenter/big/bad.tar.gz`),
    }));
    expect(digests.good).toMatchObject({ size: good.length, sha256: createHash('sha256').update(good).digest('hex'), gzipIntact: true });
    expect(digests.bad).toMatchObject({ size: bad.length, gzipIntact: false });
  });
});
