import { describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sshdDirFor } from '../../src/lab/lab.js';

describe('where the OpenSSH lab keeps its files', () => {
  it('beside the lab when every folder above it lets the SFTP user through', () => {
    const base = mkdtempSync(join(tmpdir(), 'sddc-open-'));
    chmodSync(base, 0o755);
    try {
      expect(sshdDirFor(join(base, 'lab'))).toBe(join(base, 'lab', 'sshd'));
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('under the temp directory, the same each time, when a folder above is closed to others (a 0700 home)', () => {
    const base = mkdtempSync(join(tmpdir(), 'sddc-closed-'));
    const home = join(base, 'home');
    mkdirSync(join(home, 'clone'), { recursive: true });
    chmodSync(home, 0o700);
    try {
      const dir = sshdDirFor(join(home, 'clone', '.sddc-ops', 'lab'));
      expect(dir.startsWith(join(tmpdir(), 'sddc-ops-lab-'))).toBe(true);
      expect(dir).toBe(sshdDirFor(join(home, 'clone', '.sddc-ops', 'lab')));
      expect(dir).not.toBe(sshdDirFor(join(home, 'other', '.sddc-ops', 'lab')));
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
