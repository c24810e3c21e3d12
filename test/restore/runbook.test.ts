import { describe, expect, it } from 'vitest';
import { nsxBackupFolderName, type BackupSetManifest } from '../../src/domain/backup-set.js';
import { pickRestoreSet, RestorePlanError, restoreRunbook, runbookMarkdown } from '../../src/restore/runbook.js';
import type { SiteConfig } from '../../src/config/schema.js';

const NODE = '3f6f9c1e-8c7a-4e0b-9a51-0f1e2d3c4b5a';
function set(id: string, startedAt: string, o: Partial<BackupSetManifest> = {}): BackupSetManifest {
  const t = Date.parse(startedAt);
  const vcStamp = new Date(t + 2000).toISOString().replace(/[-:]/g, '').slice(0, 15).replace('T', '-');
  return {
    schemaVersion: 1,
    setId: id,
    site: 's1',
    status: 'complete',
    startedAt,
    endedAt: startedAt,
    verifiedAt: startedAt,
    workflow: { workflowId: 'w', runId: 'r' },
    target: { host: 'sftp.example', port: 22, directory: '/backups/s1/', hostKeyFingerprint: 'SHA256:abc' },
    nsx: { passphraseRef: 'env:NSX_PASSPHRASE', productVersion: '4.2.1', folders: [`nsx/cluster-node-backups/4.2.1.0.0-${NODE}-10.0.0.5/${nsxBackupFolderName(t)}`], files: [] },
    vcenter: { jobId: 'j', location: 'sftp://sftp.example/backups/s1/vcenter', backupPasswordRef: 'file:/run/secrets/vc-backup', folders: [`vcenter/sn_vc.example/M_8.0.3.00400_${vcStamp}_abc`], files: [] },
    totals: { files: 0, bytes: 0 },
    ...o,
  };
}
const site = { vcenter: { url: 'https://vc.example' }, nsx: { url: 'https://nsx.example' }, backupTarget: { user: 'backup', password: 'env:SFTP_PASSWORD' } } as unknown as SiteConfig;
const now = Date.parse('2026-11-26T12:00:00Z');

describe('restore runbook', () => {
  const sets = [set('s1-20261126T020000Z', '2026-11-26T02:00:00Z'), set('s1-20261125T020000Z', '2026-11-25T02:00:00Z'), set('s1-20261126T030000Z', '2026-11-26T03:00:00Z', { verifications: [{ at: 'x', ok: false, problems: ['nsx/x: SHA-256 differs'] }], verifiedAt: undefined })];

  it('takes the newest complete, verified set; a damaged one only with --force, saying why', () => {
    expect(pickRestoreSet(sets, 's1', { nowMs: now }).manifest.setId).toBe('s1-20261126T020000Z');
    expect(() => pickRestoreSet(sets, 's1', { setId: 's1-20261126T030000Z', nowMs: now })).toThrow(/is damaged: its last verification found nsx\/x: SHA-256 differs; restore it only with --force/);
    expect(pickRestoreSet(sets, 's1', { setId: 's1-20261126T030000Z', force: true, nowMs: now }).forced).toMatch(/is damaged/);
    expect(() => pickRestoreSet([set('s1-20261120T000000Z', '2026-11-20T00:00:00Z', { vcenter: undefined, status: 'failed' })], 's1', { setId: 's1-20261120T000000Z', force: true, nowMs: now })).toThrow(/does not hold both halves/);
    expect(() => pickRestoreSet([], 's1', { nowMs: now })).toThrow(RestorePlanError);
    expect(() => pickRestoreSet(sets, 's1', { setId: 's1-20000101T000000Z', nowMs: now })).toThrow(/no set s1-20000101T000000Z of site s1/);
  });

  it('names the exact locations, the paired timestamps, the NSX node and the secret references, vCenter first', () => {
    const picked = pickRestoreSet(sets, 's1', { nowMs: now });
    const r = restoreRunbook(picked.manifest, site, picked);
    expect(r.vcenter).toMatchObject({ address: 'vc.example', version: '8.0.3.00400', location: `sftp://sftp.example:22/backups/s1/vcenter/sn_vc.example/M_8.0.3.00400_20261126-020002_abc`, backupAt: '2026-11-26T02:00:02.000Z', backupPasswordRef: 'file:/run/secrets/vc-backup' });
    expect(r.nsx).toMatchObject({ address: 'nsx.example', version: '4.2.1', timestampMs: Date.parse('2026-11-26T02:00:00Z'), nodeId: NODE, directory: '/backups/s1/nsx', passphraseRef: 'env:NSX_PASSPHRASE' });
    expect(r.skewSeconds).toBe(2);
    expect(r.stages.map((s) => s.title)).toEqual(['1. vCenter Server vc.example', '2. NSX Manager nsx.example', '3. Reconcile']);
    const md = runbookMarkdown(r);
    expect(md).toContain(`take timestamp ${Date.parse('2026-11-26T02:00:00Z')} of node ${NODE}`);
    expect(md).toContain('location_password = the password in env:SFTP_PASSWORD');
    expect(md.indexOf('## 1. vCenter')).toBeLessThan(md.indexOf('## 2. NSX'));
  });
});
