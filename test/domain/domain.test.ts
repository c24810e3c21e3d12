import { describe, expect, it } from 'vitest';
import {
  catalogStatus,
  isPlainSetId,
  makeSetId,
  isProductBackupFolder,
  nsxBackupFolderName,
  nsxvBackupFileName,
  parseNsxBackupFolderName,
  parseNsxvBackupFileName,
  productFolderOf,
  parseVcenterBackupFolderName,
  vcenterBackupFolderName,
} from '../../src/domain/backup-set.js';
import { formatDuration, parseDuration } from '../../src/domain/duration.js';
import { keyType, sshFingerprint } from '../../src/providers/sftp/fingerprint.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('backup-set naming', () => {
  it('set ids sort by time and name the site', () => {
    expect(makeSetId('tokyo-1', new Date('2026-11-25T20:15:03.456Z'))).toBe('tokyo-1-20261125T201503Z');
  });
  it('NSX and vCenter folder names round-trip to whole seconds', () => {
    const t = Date.parse('2026-11-25T20:15:03.999Z');
    expect(nsxBackupFolderName(t)).toBe('backup-2026-11-25T20_15_03UTC');
    expect(parseNsxBackupFolderName(nsxBackupFolderName(t))).toBe(Date.parse('2026-11-25T20:15:03Z'));
    const v = vcenterBackupFolderName('M', '8.0.3.00400', t, 'a1b2c3');
    expect(v).toBe('M_8.0.3.00400_20261125-201503_a1b2c3');
    expect(parseVcenterBackupFolderName(v)).toEqual({ kind: 'M', version: '8.0.3.00400', startMs: Date.parse('2026-11-25T20:15:03Z') });
    expect(parseVcenterBackupFolderName('vCenter')).toBeUndefined();
  });
  it('NSX-V file names are <prefix><HH_MM_SS_DddDDMonYYYY>, round-trip to whole seconds, and must name the right weekday', () => {
    const t = Date.parse('2019-03-12T14:05:09.700Z');
    expect(nsxvBackupFileName('nsx-', t)).toBe('nsx-14_05_09_Tue12Mar2019');
    expect(parseNsxvBackupFileName('nsx-14_05_09_Tue12Mar2019')).toBe(Date.parse('2019-03-12T14:05:09Z'));
    expect(parseNsxvBackupFileName('backup_14_05_09_Tue12Mar2019')).toBe(Date.parse('2019-03-12T14:05:09Z'));
    expect(parseNsxvBackupFileName('nsx-14_05_09_Wed12Mar2019'), 'the 12th of March 2019 was a Tuesday').toBeUndefined();
    expect(parseNsxvBackupFileName('nsx-14_05_09_Tue12Mar2019.tmp')).toBeUndefined();
  });
  it('an NSX-V backup is its own file: a manifest may record it, and its path is its own backup', () => {
    expect(isProductBackupFolder('nsx/nsx-14_05_09_Tue12Mar2019')).toBe(true);
    expect(productFolderOf('nsx/nsx-14_05_09_Tue12Mar2019')).toBe('nsx/nsx-14_05_09_Tue12Mar2019');
    expect(isProductBackupFolder('nsx/other-file')).toBe(false);
    expect(isProductBackupFolder('nsx/sub/nsx-14_05_09_Tue12Mar2019')).toBe(false);
    expect(productFolderOf('nsx/cluster-node-backups/4.2-x-1.2.3.4/backup-2026-11-25T20_15_03UTC/metadata.json')).toBe('nsx/cluster-node-backups/4.2-x-1.2.3.4/backup-2026-11-25T20_15_03UTC');
  });
});

describe('durations', () => {
  it('parses and formats', () => {
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
    expect(formatDuration(5_400_000)).toBe('1h30m');
  });
});

describe('host key fingerprints', () => {
  it('match what ssh-keygen -lf prints for an ECDSA key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-N', '', '-f', join(dir, 'k')]);
    const blob = Buffer.from(readFileSync(join(dir, 'k.pub'), 'utf8').split(' ')[1]!, 'base64');
    const expected = execFileSync('ssh-keygen', ['-lf', join(dir, 'k.pub')]).toString().split(' ')[1];
    expect(sshFingerprint(blob)).toBe(expected);
    expect(keyType(blob)).toBe('ecdsa-sha2-nistp256');
  });
});

import { pickFolders } from '../../activities/backup/backup-set.js';
describe('matching backup folders to a job', () => {
  const at = (iso: string) => Date.parse(iso);
  const folders = [
    { path: 'earlier', t: at('2026-11-25T20:31:17Z') },
    { path: 'mine', t: at('2026-11-25T20:31:19Z') },
  ];
  it('takes the folder named inside the job window, not one from seconds before', () => {
    expect(pickFolders(folders, { startMs: at('2026-11-25T20:31:19.400Z'), endMs: at('2026-11-25T20:31:21Z') })).toEqual(['mine']);
  });
  it('allows a little clock skew only when nothing is inside the window', () => {
    expect(pickFolders(folders, { startMs: at('2026-11-25T20:31:20.100Z'), endMs: at('2026-11-25T20:31:22Z') })).toEqual(['mine']);
    expect(pickFolders(folders, { startMs: at('2026-11-25T20:40:00Z'), endMs: at('2026-11-25T20:41:00Z') })).toEqual([]);
  });
});

describe('what the catalog shows for a set', () => {
  const base = { schemaVersion: 1, setId: 's-20260101T000000Z', site: 's', startedAt: '2026-01-01T00:00:00.000Z', endedAt: '', runDeadline: Date.parse('2026-01-01T09:00:00Z'), workflow: { workflowId: 'w', runId: 'r' }, target: { host: 'h', port: 22, directory: '/d', hostKeyFingerprint: 'x' }, totals: { files: 0, bytes: 0 } } as const;
  const before = Date.parse('2026-01-01T08:00:00Z');
  const after = Date.parse('2026-01-01T10:00:00Z');

  it('a running set is abandoned when Temporal says its run ended, or, when Temporal cannot tell, once past its deadline', () => {
    const m = { ...base, status: 'running' as const };
    expect(catalogStatus(m, false, after)).toBe('running');
    expect(catalogStatus(m, true, before)).toBe('abandoned');
    expect(catalogStatus(m, undefined, before)).toBe('running');
    expect(catalogStatus(m, undefined, after)).toBe('abandoned');
    expect(catalogStatus({ ...m, runDeadline: undefined }, undefined, after)).toBe('running');
  });

  it('a complete set is damaged while its latest verification failed, and complete again once one passes', () => {
    const m = { ...base, status: 'complete' as const, verifiedAt: 'x' };
    const v = (ok: boolean) => ({ at: 'x', ok, problems: [] });
    expect(catalogStatus({ ...m, verifications: [v(true), v(false)] }, undefined, after)).toBe('damaged');
    expect(catalogStatus({ ...m, verifications: [v(false), v(true)] }, undefined, after)).toBe('complete');
    expect(catalogStatus({ ...m, verifiedAt: undefined }, undefined, after)).toBe('damaged');
  });

  it('set ids are plain names, never paths', () => {
    for (const ok of ['tokyo-1-20261125T020000Z', 'a', 'A.b_c-1']) expect(isPlainSetId(ok), ok).toBe(true);
    for (const bad of ['', '.', '..', '../../etc', 'a/b', 'a\\b', '/abs', '-x', 'a..b', 'x'.repeat(200)]) expect(isPlainSetId(bad), bad).toBe(false);
  });
});
