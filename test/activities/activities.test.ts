import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runActivity } from '../fixtures/activity.js';
import { ApplicationFailure } from '@temporalio/common';
import { preflightBackupTarget } from '../../activities/backup-target.js';
import { ensureNsxBackupConfig, startNsxBackup, getNsxBackupState } from '../../activities/nsx-backup.js';
import { startVcenterBackup } from '../../activities/vcenter-backup.js';
import { writeBackupSetManifest, verifyNsxBackup } from '../../activities/backup-set.js';
import { startTestLab, type TestLab } from '../fixtures/lab.js';
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

  it('NSX start is idempotent: a retry adopts the running backup instead of starting another', async () => {
    const notBefore = Date.now();
    const a = await run(startNsxBackup, { nsx: lab.config.nsx, notBefore });
    const b = await run(startNsxBackup, { nsx: lab.config.nsx, notBefore });
    expect(a.how).toBe('started');
    expect(b).toMatchObject({ how: 'adopted', backupId: a.backupId });
    await lab.nsx.idle();
    const state = await run(getNsxBackupState, { nsx: lab.config.nsx, notBefore, backupId: a.backupId });
    expect(state.state).toBe('succeeded');
    if (state.state !== 'succeeded') return;
    const { folders, files } = await run(verifyNsxBackup, { target: lab.config.backupTarget, startMs: state.startTime, endMs: state.endTime });
    expect(files.every((f) => f.path.startsWith('nsx/cluster-node-backups/') && f.size > 0 && /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
    expect(folders).toHaveLength(1);
    expect(files.every((f) => f.path.startsWith(`${folders[0]}/`))).toBe(true);
  });

  it('vCenter start adopts the job already in progress', async () => {
    const notBefore = Date.now();
    const input = { vcenter: lab.config.vcenter, target: lab.config.backupTarget, notBefore, comment: 'test' };
    const a = await run(startVcenterBackup, input);
    const b = await run(startVcenterBackup, input);
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
});
