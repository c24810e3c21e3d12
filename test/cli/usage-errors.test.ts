import { describe, expect, it } from 'vitest';
import { cli } from '../fixtures/stack.js';

describe('usage errors exit 2 everywhere', () => {
  it.each([
    [['backup', 'run']],
    [['backup', 'run', '--site', 'x', '--bogus']],
    [['backup', 'list']],
    [['backup', 'status']],
    [['restore', 'plan']],
    [['restore', 'drill', '--site']],
    [['schedule', 'create', '--site', 'x']],
    [['schedule', 'describe']],
    [['scale-out', 'add-hosts', '--site', 'x']],
    [['appdata', 'ack']],
    [['doctor', '--bogus']],
    [['report', '--site', 'a', '--all-sites']],
    [['completion']],
    [['backup', 'list', '--site', 'x', '-o', 'csv']],
    [['nosuchcommand']],
  ])('sddc-ops %j', async (args) => {
    const r = await cli(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/error|Usage|invalid configuration/);
  });
});
