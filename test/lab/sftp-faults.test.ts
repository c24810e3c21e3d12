import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOpenSshSftp, type LabSftp } from '../../src/lab/sftp-server.js';
import { sshdDirFor } from '../../src/lab/lab.js';
import { uploadAsProduct, UploadError } from '../../src/lab/sftp-upload.js';
import { withSftp } from '../../src/providers/sftp/client.js';
import { faultsSchema, FaultState } from '../../src/lab/faults.js';

/**
 * The lab's SFTP faults against a real OpenSSH sshd: a product's upload cut off half-way (the
 * connection drops, or the server answers a write as it does when its disk is full), and our own
 * reading session killed mid-transfer.
 */
let dir: string;
let sftp: LabSftp;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sddc-sftp-faults-'));
  sftp = await startOpenSshSftp(sshdDirFor(join(dir, 'lab')));
});
afterAll(async () => {
  await sftp?.stop();
  rmSync(dir, { recursive: true, force: true });
  if (sftp) rmSync(sftp.homeDir, { recursive: true, force: true });
});

const files = (base: string) => [0, 1, 2].map((i) => ({ path: `${base}/part-${i}.bin`, data: randomBytes(64 * 1024 + i) }));
const upload = (base: string, interrupt?: { how: 'disconnect' | 'full'; at: number }) =>
  uploadAsProduct({ host: sftp.host, port: sftp.port, user: sftp.user, password: sftp.password, pinnedFingerprint: sftp.fingerprint, files: files(base), interrupt });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('product uploads cut off half-way', () => {
  it.each([
    { how: 'disconnect' as const, code: 'CONNECTION_LOST', says: /connection to 127\.0\.0\.1:\d+ was lost while writing .*part-1\.bin/ },
    { how: 'full' as const, code: 'WRITE_FAILED', says: /write to .*part-1\.bin failed: Failure/ },
  ])('$how: the upload fails as $code, the files before are whole, the one cut off holds its first half, none after', async ({ how, code, says }) => {
    const base = `${sftp.homeDir}/${how}`;
    const err = await upload(base, { how, at: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UploadError);
    expect((err as UploadError).code).toBe(code);
    expect((err as UploadError).message).toMatch(says);
    const disk = (i: number) => sftp.diskPath(`${base}/part-${i}.bin`);
    expect(readFileSync(disk(0)).length).toBe(64 * 1024);
    expect(readFileSync(disk(1)).length).toBe(Math.floor((64 * 1024 + 1) / 2));
    expect(existsSync(disk(2))).toBe(false);
    // The server itself is fine: the next upload goes through whole.
    await upload(`${base}-again`);
    expect(readFileSync(sftp.diskPath(`${base}-again/part-2.bin`)).length).toBe(64 * 1024 + 2);
  });
});

describe('a reading session dropped mid-transfer (dropReaderOf)', () => {
  it('kills the session that reads a matching file; the read fails, the next session reads it whole', async () => {
    const big = randomBytes(48 * 1024 * 1024);
    const path = `${sftp.homeDir}/verify-me/big.bin`;
    const other = `${sftp.homeDir}/verify-me/other.bin`;
    await withSftp({ host: sftp.host, port: sftp.port, user: sftp.user, password: sftp.password, hostKeyFingerprint: sftp.fingerprint }, (c) => c.mkdirp(`${sftp.homeDir}/verify-me`));
    writeFileSync(sftp.diskPath(path), big);
    writeFileSync(sftp.diskPath(other), 'x');
    const ep = { host: sftp.host, port: sftp.port, user: sftp.user, password: sftp.password, hostKeyFingerprint: sftp.fingerprint };
    sftp.setFaults!({ dropReaderOf: 'big.bin' });
    // A file that does not match is read as usual while the fault waits.
    expect(await withSftp(ep, (c) => c.readText(other))).toBe('x');
    const cut = await withSftp(ep, (c) => c.digest(path)).then(() => undefined, (e: unknown) => e);
    expect(cut, 'the read of the matching file fails').toBeInstanceOf(Error);
    expect(sftp.drops!()).toEqual([{ pid: expect.any(Number), file: sftp.diskPath(path) }]);
    // Once: the next session reads it to the end.
    expect((await withSftp(ep, (c) => c.digest(path))).sha256).toBe(sha(big));
    expect(sftp.drops!()).toHaveLength(1);
  });
});

describe('fault state', () => {
  it('takes the new one-shot job faults with the job, and keeps settings', () => {
    const f = new FaultState();
    f.set(faultsSchema.parse({ upload: 'disconnect', targetFull: true, restoreSuspended: { description: 'x' }, jobDurationMs: 5 }));
    expect(f.takeJobFaults()).toMatchObject({ upload: 'disconnect', targetFull: true, restoreSuspended: { description: 'x' } });
    expect(f.get()).toEqual({ jobDurationMs: 5 });
    expect(faultsSchema.safeParse({ upload: 'explode' }).success).toBe(false);
    expect(faultsSchema.safeParse({ stallWorkers: -1 }).success).toBe(false);
  });
});
