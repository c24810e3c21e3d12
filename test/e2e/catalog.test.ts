import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { cli, startStack, type Stack } from '../fixtures/stack.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { manifestsOnDisk } from '../fixtures/manifest.js';
import { editLabConfig } from '../fixtures/lab.js';

let stack: Stack;
const setIds: string[] = [];
beforeAll(async () => {
  stack = await startStack('cat');
});
afterAll(async () => stack?.stop());

const conn = () => ['--config', stack.lab.configPath, '--address', stack.server.address];
const manifestOf = (setId: string) => manifestsOnDisk(stack.lab.targetOnDisk).find((m) => m.setId === setId)!;

describe('the catalog lives with the backups', () => {
  it('backup list and backup show read the manifests on the SFTP target', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await cli(['backup', 'run', '--site', 'cat', '--json', ...conn()]);
      expect(r.code, r.stderr).toBe(0);
      setIds.push(JSON.parse(r.stdout).setId);
    }
    const list = await cli(['backup', 'list', '--site', 'cat', '--config', stack.lab.configPath, '--json']);
    expect(list.code, list.stderr).toBe(0);
    const sets = JSON.parse(list.stdout).sets;
    expect(sets.map((s: { setId: string }) => s.setId)).toEqual([...setIds].reverse());
    expect(sets.every((s: { status: string; bytes: number; verifiedAt: string }) => s.status === 'complete' && s.bytes > 0 && s.verifiedAt)).toBe(true);

    const show = await cli(['backup', 'show', setIds[0]!, '--config', stack.lab.configPath]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/status\s+complete/);
    expect(show.stdout).toMatch(/backup-metadata\.json/);
    const unknown = await cli(['backup', 'show', 'cat-20000101T000000Z', '--config', stack.lab.configPath]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no backup set cat-20000101T000000Z/);
  });

  it('verify catches one flipped byte, naming the file, and records it in the manifest', async () => {
    const setId = setIds[0]!;
    const file = manifestOf(setId).vcenter!.files.find((f) => f.path.endsWith('.tar.gz'))!;
    const abs = join(stack.lab.targetOnDisk, file.path);
    const original = readFileSync(abs);
    const flipped = Buffer.from(original);
    flipped[Math.floor(flipped.length / 3)]! ^= 0x01;
    writeFileSync(abs, flipped);

    const bad = await cli(['backup', 'verify', setId, ...conn()]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${file.path}: SHA-256 differs from the manifest`);
    const m = manifestOf(setId);
    expect(m.verifications!.at(-1)).toMatchObject({ ok: false });

    writeFileSync(abs, original);
    const before = m.verifiedAt!;
    const good = await cli(['backup', 'verify', setId, '--json', ...conn()]);
    expect(good.code, good.stderr).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ status: 'ok', setId });
    expect(manifestOf(setId).verifiedAt! > before).toBe(true);
  });

  it('verify catches a missing file', async () => {
    const setId = setIds[1]!;
    const file = manifestOf(setId).nsx!.files[0]!;
    const abs = join(stack.lab.targetOnDisk, file.path);
    renameSync(abs, abs + '.moved');
    try {
      const r = await cli(['backup', 'verify', setId, ...conn()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${file.path}: missing`);
    } finally {
      renameSync(abs + '.moved', abs);
    }
  });

  it('prune deletes only the expired sets\' own files, manifest last, and keeps the newest complete set', async () => {
    const doc = parse(readFileSync(stack.lab.configPath, 'utf8'));
    doc.sites.cat.backupTarget.retention = { keepLast: 1 };
    const file = join(stack.dataDir, 'retention.yaml');
    writeFileSync(file, stringify(doc));
    const newest = setIds[2]!;
    const expiredSets = setIds.slice(0, 2).map(manifestOf);
    const stranger = join(stack.lab.targetOnDisk, 'nsx', 'not-ours.txt');
    writeFileSync(stranger, 'a file sddc-ops did not write');

    const dry = await cli(['backup', 'prune', '--site', 'cat', '--dry-run', '--json', '--config', file]);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.decision.expire.map((e: { setId: string }) => e.setId).sort()).toEqual(setIds.slice(0, 2).sort());
    expect(expiredSets.every((m) => existsSync(join(stack.lab.targetOnDisk, m.nsx!.files[0]!.path)))).toBe(true);

    const real = await cli(['backup', 'prune', '--site', 'cat', '--config', file]);
    expect(real.code, real.stderr).toBe(0);
    for (const m of expiredSets) {
      for (const f of [...m.nsx!.files, ...m.vcenter!.files]) expect(existsSync(join(stack.lab.targetOnDisk, f.path)), f.path).toBe(false);
      expect(existsSync(join(stack.lab.targetOnDisk, 'sets', m.setId))).toBe(false);
    }
    expect(existsSync(stranger)).toBe(true);
    expect(manifestsOnDisk(stack.lab.targetOnDisk).map((m) => m.setId)).toEqual([newest]);
    expect((await cli(['backup', 'verify', newest, ...conn()])).code).toBe(0);

    // After a successful backup the workflow applies the same policy (as the worker's config says).
    const restore = editLabConfig(stack.lab.configPath, (d) => (d.sites.cat!.backupTarget.retention = { keepLast: 1 }));
    const r = await cli(['backup', 'run', '--site', 'cat', '--json', ...conn()]).finally(restore);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.pruned.expired.map((e: { setId: string }) => e.setId)).toEqual([newest]);
    expect(manifestsOnDisk(stack.lab.targetOnDisk).map((m) => m.setId)).toEqual([out.setId]);
  });

  const retentionConfig = () => {
    const doc = parse(readFileSync(stack.lab.configPath, 'utf8'));
    doc.sites.cat.backupTarget.retention = { keepLast: 1 };
    const file = join(stack.dataDir, 'keep-last-1.yaml');
    writeFileSync(file, stringify(doc));
    return file;
  };
  const listed = async () => JSON.parse((await cli(['backup', 'list', '--site', 'cat', '--config', stack.lab.configPath, '--json'])).stdout).sets as { setId: string; status: string }[];
  /** Files the test plants on the target must belong to the SFTP user, as the products' files do. */
  const asTargetOwner = (path: string) => {
    const { uid, gid } = statSync(stack.lab.targetOnDisk);
    for (let p = path; p.startsWith(stack.lab.targetOnDisk) && p !== stack.lab.targetOnDisk; p = dirname(p)) chownSync(p, uid, gid);
  };

  it('a newest set whose verification failed is listed as damaged and protects nothing: the older verified set is kept', async () => {
    const older = manifestsOnDisk(stack.lab.targetOnDisk).map((m) => m.setId);
    expect(older).toHaveLength(1);
    const r = await cli(['backup', 'run', '--site', 'cat', '--json', ...conn()]);
    expect(r.code, r.stderr).toBe(0);
    const newest = JSON.parse(r.stdout).setId as string;
    const file = manifestOf(newest).nsx!.files[0]!;
    writeFileSync(join(stack.lab.targetOnDisk, file.path), 'bit rot');
    expect((await cli(['backup', 'verify', newest, ...conn()])).code).toBe(1);

    expect(await listed()).toEqual([expect.objectContaining({ setId: newest, status: 'damaged' }), expect.objectContaining({ setId: older[0], status: 'complete' })]);

    // restore plan takes the newest *verified* set; the damaged one only with --force, which it shows.
    const rp = await cli(['restore', 'plan', '--site', 'cat', '--json', '--config', stack.lab.configPath]);
    expect(rp.code, rp.stderr).toBe(0);
    const rb = JSON.parse(rp.stdout);
    const good = manifestOf(older[0]!);
    expect(rb).toMatchObject({ setId: older[0], status: 'complete', vcenter: { backupPasswordRef: good.vcenter!.backupPasswordRef, folder: good.vcenter!.folders![0] }, nsx: { passphraseRef: good.nsx!.passphraseRef, folder: good.nsx!.folders![0] } });
    expect(rb.vcenter.location).toBe(`sftp://${good.target.host}:${good.target.port}${good.target.directory.replace(/\/$/, '')}/${good.vcenter!.folders![0]}`);
    expect(rb.nsx.timestampMs).toBeGreaterThan(0);
    expect(rb.skewSeconds).toBeLessThan(60);
    const refused = await cli(['restore', 'plan', '--site', 'cat', '--set', newest, '--config', stack.lab.configPath]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`set ${newest} is damaged: its last verification found .*; restore it only with --force`));
    const md = await cli(['restore', 'plan', '--site', 'cat', '--set', newest, '--force', '--config', stack.lab.configPath]);
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toMatch(new RegExp(`^# Restore of site cat from set ${newest}\n\n> \\*\\*FORCED\\*\\*: set ${newest} is damaged`));
    expect(md.stdout).toMatch(/## 1\. vCenter Server [\s\S]*## 2\. NSX Manager [\s\S]*## 3\. Reconcile/);
    for (const ref of [stack.lab.config.vcenter.backupPassword, stack.lab.config.nsx.backupPassphrase]) {
      expect(md.stdout).toContain(ref);
      expect(md.stdout, 'a secret reference, never its value').not.toContain(await resolveSecret(ref));
    }
    const dry = await cli(['backup', 'prune', '--site', 'cat', '--dry-run', '--json', '--config', retentionConfig()]);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout);
    expect(plan.decision.expire).toEqual([]);
    expect(plan.decision.keep.find((k: { setId: string }) => k.setId === older[0]).reasons).toContain('newest complete set');
    // The next good set supersedes both.
    const restore = editLabConfig(stack.lab.configPath, (d) => (d.sites.cat!.backupTarget.retention = { keepLast: 1 }));
    const next = await cli(['backup', 'run', '--site', 'cat', '--json', ...conn()]).finally(restore);
    expect(next.code, next.stderr).toBe(0);
    expect(JSON.parse(next.stdout).pruned.expired.map((e: { setId: string }) => e.setId).sort()).toEqual([newest, older[0]].sort());
  });

  it('prune refuses a manifest that lists a file outside the target, deletes nothing of it, and exits 1; verify never reads it', async () => {
    const outside = join(dirname(stack.lab.targetOnDisk), 'other-site', 'precious.tar');
    mkdirSync(dirname(outside), { recursive: true });
    writeFileSync(outside, 'another site\'s backup');
    const planted = { ...manifestsOnDisk(stack.lab.targetOnDisk)[0]!, setId: 'cat-20000101T000000Z', startedAt: '2000-01-01T00:00:00.000Z', status: 'complete' as const, verifications: undefined };
    planted.nsx = { ...planted.nsx!, files: [{ path: '../other-site/precious.tar', size: 21, sha256: '0'.repeat(64) }], folders: [] };
    const dir = join(stack.lab.targetOnDisk, 'sets', planted.setId);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'backup-set.json'), JSON.stringify(planted));
    asTargetOwner(join(dir, 'backup-set.json'));
    try {
      const r = await cli(['backup', 'prune', '--site', 'cat', '--config', retentionConfig()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/REFUSED cat-20000101T000000Z: its manifest lists "\.\.\/other-site\/precious\.tar"/);
      expect(existsSync(outside)).toBe(true);
      expect(existsSync(join(dir, 'backup-set.json'))).toBe(true);

      const v = await cli(['backup', 'verify', planted.setId, ...conn()]);
      expect(v.code).toBe(1);
      expect(v.stderr).toContain('../other-site/precious.tar: not a path under this target');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const bad of ['../../etc', 'cat-1/../../x', '.']) {
      const r = await cli(['backup', 'verify', bad, '--site', 'cat', ...conn()]);
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toMatch(/is not a backup set id/);
    }
  });

  it('prune --orphans lists product folders no manifest refers to, and deletes them only without --dry-run', async () => {
    const node = manifestsOnDisk(stack.lab.targetOnDisk)[0]!.nsx!.folders![0]!.split('/')[2]!;
    const orphan = join(stack.lab.targetOnDisk, 'nsx', 'cluster-node-backups', node, 'backup-2001-01-01T00_00_00UTC');
    mkdirSync(orphan, { recursive: true });
    writeFileSync(join(orphan, 'cluster_backup.tar.enc'), 'left by a run killed in 2001');
    asTargetOwner(join(orphan, 'cluster_backup.tar.enc'));
    const dry = await cli(['backup', 'prune', '--site', 'cat', '--orphans', '--dry-run', '--json', '--config', stack.lab.configPath]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).orphans).toEqual([expect.objectContaining({ folder: `nsx/cluster-node-backups/${node}/backup-2001-01-01T00_00_00UTC`, files: 1 })]);
    expect(existsSync(orphan)).toBe(true);
    const real = await cli(['backup', 'prune', '--site', 'cat', '--orphans', '--config', stack.lab.configPath]);
    expect(real.code, real.stderr).toBe(0);
    expect(existsSync(orphan)).toBe(false);
    const newest = manifestsOnDisk(stack.lab.targetOnDisk)[0]!.setId;
    expect((await cli(['backup', 'verify', newest, ...conn()])).code).toBe(0);
  });

  it('backup list and show work with no Temporal server running', async () => {
    await stack.server.stop();
    const list = await cli(['backup', 'list', '--site', 'cat', '--config', stack.lab.configPath]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/SET ID\s+STARTED\s+STATUS/);
    const setId = manifestsOnDisk(stack.lab.targetOnDisk)[0]!.setId;
    expect((await cli(['backup', 'show', setId, '--config', stack.lab.configPath])).code).toBe(0);
  });
});
