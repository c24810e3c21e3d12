import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

describe('deploy files', () => {
  it('the systemd unit passes systemd-analyze verify (with this machine\'s node in ExecStart)', () => {
    const unit = readFileSync(join(root, 'deploy/sddc-ops-worker.service'), 'utf8').replace('/usr/bin/node', process.execPath);
    const file = join(mkdtempSync(join(tmpdir(), 'sddc-unit-')), 'sddc-ops-worker.service');
    writeFileSync(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    expect(r.error, 'systemd-analyze is installed (.ci/run installs systemd)').toBeUndefined();
    expect(r.stderr).not.toMatch(/Unknown key|Unknown section|not executable|Invalid/);
    expect(r.status, r.stderr).toBe(0);
    // And it does catch a broken unit.
    writeFileSync(file, unit.replace('ExecStart=' + process.execPath, 'ExecStart=relative/node'));
    expect(spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' }).status).not.toBe(0);
  });
});
