import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runActivity } from '../fixtures/activity.js';
import { ApplicationFailure } from '@temporalio/common';
import { preflightBackupTarget } from '../../activities/backup/backup-target.js';
import { startTestLab, type TestLab } from '../fixtures/lab.js';

let lab: TestLab;
beforeAll(async () => {
  lab = await startTestLab({ sftp: 'ssh2', site: 'fallback' });
});
afterAll(async () => lab?.dispose());

describe('the built-in ssh2 SFTP server (demo fallback when sshd is missing)', () => {
  it('offers an ECDSA key that passes the pinned-fingerprint preflight', async () => {
    const r = await runActivity(preflightBackupTarget, lab.config.backupTarget);
    expect(r.serverFingerprint).toBe(lab.sftp.fingerprint);
    expect(lab.sftp.kind).toBe('ssh2');
  });

  it('refuses a wrong pin with both fingerprints in the message', async () => {
    const wrong = 'SHA256:' + 'B'.repeat(43);
    const err = await runActivity(preflightBackupTarget, { ...lab.config.backupTarget, hostKeyFingerprint: wrong }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).type).toBe('FingerprintMismatch');
    expect((err as ApplicationFailure).message).toContain(wrong);
    expect((err as ApplicationFailure).message).toContain(lab.sftp.fingerprint);
  });
});
