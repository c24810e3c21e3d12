import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryStore } from '../../src/catalog/store.js';
import { pruneOrphans, pruneTarget } from '../../src/catalog/prune.js';
import { manifestOf, readCatalog, readManifest, updateManifest } from '../../src/catalog/catalog.js';
import { catalogStatus, nsxBackupFolderName, vcenterBackupFolderName, type BackupSetManifest, type SetStatus } from '../../src/domain/backup-set.js';
import type { RetentionPolicy } from '../../src/domain/retention.js';

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = Date.parse('2026-10-01T00:00:00Z');
const NOW = T0 + 60 * DAY;
const nsxFolder = (t: number) => `nsx/cluster-node-backups/4.2.1-node-127.0.0.1/${nsxBackupFolderName(t)}`;
const vcFolder = (t: number) => `vcenter/vCenter/sn_vcsa.lab.local/${vcenterBackupFolderName('M', '8.0.3.00400', t, 'a1b2c3')}`;

/** Paths a hostile or broken manifest might list; none of them may ever be deleted through it. */
const HOSTILE = ['../other-site/nsx/file.tar', '/etc/passwd', 'sets/victim/backup-set.json', 'nsx/../outside/file', 'nsx//x', 'nsx/./x', 'outside/file', 'vcenter'];
const HOSTILE_FOLDERS = ['nsx', 'vcenter', 'nsx/cluster-node-backups', 'nsx/cluster-node-backups/4.2.1-node-127.0.0.1', '../x', 'outside'];

interface SetSpec {
  minute: number;
  status: SetStatus;
  lastVerification: 'none' | 'ok' | 'failed';
  runClosed: boolean | undefined;
  hostile?: { file?: string; folder?: string };
  recordFolders: boolean;
}

const setSpecArb: fc.Arbitrary<SetSpec> = fc.record({
  minute: fc.integer({ min: 0, max: 59 * 24 * 60 }),
  status: fc.constantFrom<SetStatus>('complete', 'complete', 'complete', 'failed', 'cancelled', 'running', 'deleting'),
  lastVerification: fc.constantFrom<'none' | 'ok' | 'failed'>('none', 'none', 'ok', 'failed'),
  runClosed: fc.constantFrom(true, false, undefined),
  hostile: fc.option(fc.record({ file: fc.option(fc.constantFrom(...HOSTILE), { nil: undefined }), folder: fc.option(fc.constantFrom(...HOSTILE_FOLDERS), { nil: undefined }) }), { nil: undefined, freq: 4 }),
  recordFolders: fc.boolean(),
});

const policyArb: fc.Arbitrary<RetentionPolicy> = fc.record(
  {
    keepLast: fc.integer({ min: 1, max: 5 }),
    daily: fc.integer({ min: 1, max: 7 }),
    weekly: fc.integer({ min: 1, max: 4 }),
    monthly: fc.integer({ min: 1, max: 3 }),
    maxAgeMs: fc.integer({ min: 1, max: 60 }).map((d) => d * DAY),
  },
  { requiredKeys: [] },
);

/** A target with sets as the product and the backup run leave them, plus files that are not ours. */
function targetOf(specs: SetSpec[], orphanMinutes: number[]) {
  const store = new MemoryStore({ 'outside/file': 'not ours', 'other-site/nsx/file.tar': 'another site', 'sets/victim/backup-set.json': '{}', 'etc/passwd': 'root' });
  const closed = new Map<string, boolean | undefined>();
  const manifests: BackupSetManifest[] = [];
  specs.forEach((s, i) => {
    const t = T0 + s.minute * MIN;
    const setId = `site-${String(i).padStart(3, '0')}`;
    const nsxF = nsxFolder(t + 1000);
    const vcF = vcFolder(t + 2000);
    const files = (folder: string) => ['a.tar', 'b.json'].map((n) => ({ path: `${folder}/${n}`, size: 3, sha256: 'x'.repeat(64) }));
    for (const f of [...files(nsxF), ...files(vcF)]) store.put(f.path, 'abc');
    const verified = s.status === 'complete';
    const m: BackupSetManifest = {
      schemaVersion: 1,
      setId,
      site: 'site',
      status: s.status,
      startedAt: new Date(t).toISOString(),
      endedAt: new Date(t + MIN).toISOString(),
      runDeadline: t + DAY,
      ...(verified ? { verifiedAt: new Date(t + MIN).toISOString() } : {}),
      ...(s.lastVerification !== 'none' ? { verifications: [{ at: new Date(t + 2 * MIN).toISOString(), ok: s.lastVerification === 'ok', problems: [] }] } : {}),
      workflow: { workflowId: `wf-${i}`, runId: `run-${i}` },
      target: { host: 'h', port: 22, directory: '/t', hostKeyFingerprint: 'SHA256:x' },
      nsx: {
        startTime: new Date(t + 1000).toISOString(),
        passphraseRef: 'env:P',
        folders: s.recordFolders || !verified ? [nsxF] : [],
        files: verified ? files(nsxF) : [],
      },
      vcenter: {
        jobId: `job-${i}`,
        startTime: new Date(t + 2000).toISOString(),
        location: 'sftp://h/t/vcenter',
        backupPasswordRef: 'env:B',
        folders: s.status === 'running' ? [] : [vcF],
        files: verified ? files(vcF) : [],
      },
      totals: { files: 0, bytes: 0 },
    };
    if (s.hostile?.file) m.nsx!.files.push({ path: s.hostile.file, size: 1, sha256: 'y'.repeat(64) });
    if (s.hostile?.folder) m.vcenter!.folders!.push(s.hostile.folder);
    store.put(manifestOf(setId), JSON.stringify(m));
    closed.set(setId, s.runClosed);
    manifests.push(m);
  });
  for (const minute of orphanMinutes) store.put(`${nsxFolder(T0 + minute * MIN + 500)}/orphan.tar`, 'zz');
  return { store, manifests, liveness: async (m: BackupSetManifest) => closed.get(m.setId) };
}

const good = (m: BackupSetManifest) => catalogStatus(m, undefined, NOW) === 'complete';
const ownFiles = (m: BackupSetManifest) => [...m.nsx!.files, ...m.vcenter!.files].map((f) => f.path);
const isHostile = (m: BackupSetManifest) => ownFiles(m).some((p) => HOSTILE.includes(p)) || [...m.vcenter!.folders!].some((f) => HOSTILE_FOLDERS.includes(f));

describe('prune, the function that deletes, over random targets with hostile manifests', () => {
  it('deletes only inside nsx/ and vcenter/ and the expired sets\' own folders; the newest verified set and every kept set survive whole', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(setSpecArb, { maxLength: 14, selector: (s) => s.minute }), fc.array(fc.integer({ min: 0, max: 59 * 24 * 60 }), { maxLength: 3 }), policyArb, async (specs, orphans, policy) => {
        const { store, manifests, liveness } = targetOf(specs, orphans);
        const report = await pruneTarget(store, policy, { dryRun: false, nowMs: NOW, liveness });
        const deletedSets = new Set(report.sets.filter((s) => !s.refused).map((s) => s.setId));
        for (const d of store.deleted) {
          const inProduct = /^(nsx|vcenter)\/.+/.test(d) && !d.includes('..');
          const ownSetFolder = [...deletedSets].some((id) => d === `sets/${id}/` || d.startsWith(`sets/${id}/`));
          expect(inProduct || ownSetFolder, `deleted ${d}`).toBe(true);
        }
        for (const p of ['outside/file', 'other-site/nsx/file.tar', 'sets/victim/backup-set.json', 'etc/passwd']) expect(store.files.has(p), p).toBe(true);

        const newestGood = manifests.filter(good).sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0];
        if (newestGood) {
          expect(store.files.has(manifestOf(newestGood.setId))).toBe(true);
          for (const f of ownFiles(newestGood).filter((p) => !HOSTILE.includes(p))) expect(store.files.has(f), f).toBe(true);
        }
        const expired = new Set(report.decision.expire.map((e) => e.setId));
        for (const m of manifests.filter((x) => !expired.has(x.setId))) {
          expect(store.files.has(manifestOf(m.setId)), m.setId).toBe(true);
          for (const f of ownFiles(m).filter((p) => !HOSTILE.includes(p))) expect(store.files.has(f), `${m.setId}: ${f}`).toBe(true);
        }
        for (const s of report.sets.filter((x) => x.refused)) {
          const m = manifests.find((x) => x.setId === s.setId)!;
          expect(isHostile(m)).toBe(true);
          expect(store.files.has(manifestOf(m.setId))).toBe(true);
          for (const f of ownFiles(m).filter((p) => !HOSTILE.includes(p))) expect(store.files.has(f), f).toBe(true);
        }
        for (const id of deletedSets) {
          const m = manifests.find((x) => x.setId === id)!;
          expect(isHostile(m)).toBe(false);
          expect(store.files.has(manifestOf(id))).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a set whose manifest lists ../other-site/file: reported, and nothing of that set deleted', async () => {
    const { store, manifests } = targetOf(
      [
        { minute: 0, status: 'failed', lastVerification: 'none', runClosed: undefined, recordFolders: true, hostile: { file: '../other-site/nsx/file.tar' } },
        { minute: 60, status: 'complete', lastVerification: 'none', runClosed: undefined, recordFolders: true },
      ],
      [],
    );
    const r = await pruneTarget(store, { keepLast: 1 }, { dryRun: false, nowMs: NOW });
    expect(r.sets).toEqual([{ setId: 'site-000', files: [], refused: expect.stringContaining('../other-site/nsx/file.tar') }]);
    expect(store.deleted).toEqual([]);
    expect(store.files.has(manifestOf(manifests[0]!.setId))).toBe(true);
  });

  it('a failed set recorded only by its folders is freed whole (files the run never verified included)', async () => {
    const { store, manifests } = targetOf(
      [
        { minute: 0, status: 'failed', lastVerification: 'none', runClosed: undefined, recordFolders: true },
        { minute: 60, status: 'complete', lastVerification: 'none', runClosed: undefined, recordFolders: true },
      ],
      [],
    );
    const failed = manifests[0]!;
    const r = await pruneTarget(store, { keepLast: 1 }, { dryRun: false, nowMs: NOW });
    expect(r.decision.expire.map((e) => e.setId)).toEqual([failed.setId]);
    for (const folder of [...failed.nsx!.folders!, ...failed.vcenter!.folders!]) expect([...store.files.keys()].some((p) => p.startsWith(folder))).toBe(false);
    expect(store.files.has(manifestOf(failed.setId))).toBe(false);
  });

  it('an abandoned run (terminated before it could look) is freed by its backups\' start times', async () => {
    const { store, manifests, liveness } = targetOf(
      [
        { minute: 0, status: 'running', lastVerification: 'none', runClosed: true, recordFolders: false },
        { minute: 60, status: 'complete', lastVerification: 'none', runClosed: undefined, recordFolders: true },
      ],
      [],
    );
    const abandoned = manifests[0]!;
    abandoned.nsx!.folders = [];
    abandoned.vcenter!.folders = [];
    store.put(manifestOf(abandoned.setId), JSON.stringify(abandoned));
    expect((await pruneOrphans(store, { dryRun: true })).orphans).toEqual([]);
    const r = await pruneTarget(store, { keepLast: 1 }, { dryRun: false, nowMs: NOW, liveness });
    expect(r.decision.expire).toEqual([{ setId: abandoned.setId, reason: 'abandoned set superseded by a newer complete set' }]);
    expect(r.files.sort()).toEqual([`${nsxFolder(T0 + 1000)}/a.tar`, `${nsxFolder(T0 + 1000)}/b.json`, `${vcFolder(T0 + 2000)}/a.tar`, `${vcFolder(T0 + 2000)}/b.json`].sort());
  });

  it('an interrupted prune leaves the set marked deleting, and the next prune finishes it', async () => {
    const { store, manifests } = targetOf(
      [
        { minute: 0, status: 'complete', lastVerification: 'none', runClosed: undefined, recordFolders: true },
        { minute: 60, status: 'complete', lastVerification: 'none', runClosed: undefined, recordFolders: true },
      ],
      [],
    );
    const old = manifests[0]!;
    store.failRemoveAfter = 2;
    await expect(pruneTarget(store, { keepLast: 1 }, { dryRun: false, nowMs: NOW })).rejects.toThrow(/connection lost/);
    const marked = await readManifest(store, old.setId);
    expect(marked).toMatchObject({ status: 'deleting', statusBeforeDeleting: 'complete' });
    expect(catalogStatus(marked, undefined, NOW)).toBe('deleting');

    store.failRemoveAfter = undefined;
    const r = await pruneTarget(store, {}, { dryRun: false, nowMs: NOW }); // no rules: only the deleting set goes
    expect(r.decision.expire).toEqual([{ setId: old.setId, reason: 'an earlier prune was interrupted: finishing it' }]);
    expect(store.files.has(manifestOf(old.setId))).toBe(false);
    expect([...store.files.keys()].filter((p) => ownFiles(old).includes(p))).toEqual([]);
    expect(store.files.has(manifestOf(manifests[1]!.setId))).toBe(true);
  });
});

describe('orphaned product folders', () => {
  it('lists folders no manifest refers to that are older than the newest set; deletes them only without --dry-run', async () => {
    const { store, manifests } = targetOf([{ minute: 600, status: 'complete', lastVerification: 'none', runClosed: undefined, recordFolders: true }], [10, 20, 900]);
    store.files.delete('sets/victim/backup-set.json'); // not a manifest: it would stop the deletion (next test)
    store.dirs.delete('sets/victim');
    const dry = await pruneOrphans(store, { dryRun: true });
    expect(dry.orphans.map((o) => o.folder)).toEqual([nsxFolder(T0 + 10 * MIN + 500), nsxFolder(T0 + 20 * MIN + 500)]);
    expect(store.deleted).toEqual([]);
    const real = await pruneOrphans(store, { dryRun: false });
    expect(real.files).toHaveLength(2);
    expect(store.deleted.filter((d) => !d.endsWith('/')).sort()).toEqual(real.files.sort());
    expect(store.files.has(`${nsxFolder(T0 + 900 * MIN + 500)}/orphan.tar`)).toBe(true); // newer than the newest set: may be a run in flight
    for (const f of ownFiles(manifests[0]!)) expect(store.files.has(f)).toBe(true);
  });

  it('deletes nothing while a manifest is unreadable (it may list those folders)', async () => {
    const { store } = targetOf([{ minute: 600, status: 'complete', lastVerification: 'none', runClosed: undefined, recordFolders: true }], [10]);
    store.put('sets/site-999/backup-set.json', '{ not json');
    const r = await pruneOrphans(store, { dryRun: false });
    expect(r.refused).toMatch(/site-999/);
    expect(r.orphans).toHaveLength(1);
    expect(store.deleted).toEqual([]);
  });
});

describe('manifest updates under the set lock', () => {
  it('twenty concurrent read-modify-writes all land', async () => {
    const { store, manifests } = targetOf([{ minute: 0, status: 'complete', lastVerification: 'none', runClosed: undefined, recordFolders: true }], []);
    const setId = manifests[0]!.setId;
    const store2 = new MemoryStore({}, { latencyMs: 5 });
    for (const [p, d] of store.files) store2.put(p, d);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        updateManifest(store2, setId, `writer ${i}`, (m) => ({ ...m!, appData: { ...m!.appData, [`c${i}`]: { acknowledgedBy: `o${i}`, at: 'now', remindersSent: 0, escalated: false } } })),
      ),
    );
    const m = await readManifest(store2, setId);
    expect(Object.keys(m.appData!).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `c${i}`).sort());
    expect(m.revision).toBe(20);
    expect(store2.files.has(`sets/${setId}/.lock`)).toBe(false);
    expect((await readCatalog(store2)).sets).toHaveLength(1);
  });
});
