import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { cli, startStack, type Stack } from '../fixtures/stack.js';
import { manifestsOnDisk } from '../fixtures/manifest.js';

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

    // After a successful backup the workflow applies the same policy.
    const r = await cli(['backup', 'run', '--site', 'cat', '--json', '--config', file, '--address', stack.server.address]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.pruned.expired.map((e: { setId: string }) => e.setId)).toEqual([newest]);
    expect(manifestsOnDisk(stack.lab.targetOnDisk).map((m) => m.setId)).toEqual([out.setId]);
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
