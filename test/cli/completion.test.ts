import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { CLI, cli } from '../fixtures/stack.js';

describe('shell completion', () => {
  it('__complete offers the subcommands, aliases and options of the command the words lead to', async () => {
    const top = (await cli(['__complete'])).stdout.split('\n');
    expect(top).toEqual(expect.arrayContaining(['backup', 'restore', 'doctor', 'completion']));
    const backup = (await cli(['__complete', 'backup'])).stdout.split('\n');
    expect(backup).toEqual(expect.arrayContaining(['run', 'list', 'get', 'describe', 'status', 'logs']));
    const run = (await cli(['__complete', 'backup', 'run', '--site', 'x'])).stdout.split('\n');
    expect(run).toEqual(expect.arrayContaining(['--config', '--no-wait', '--json']));
    expect(run, 'an option already given is not offered again').not.toContain('--site');
  });

  it.each(['bash', 'zsh', 'fish'])('completion %s prints a script that asks sddc-ops __complete', async (shell) => {
    const r = await cli(['completion', shell]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('sddc-ops __complete');
  });

  it('the bash script completes in a real bash', () => {
    const script = `sddc-ops() { "${process.execPath}" "${CLI}" "$@"; }
source <(sddc-ops completion bash)
COMP_WORDS=(sddc-ops restore d); COMP_CWORD=2; _sddc_ops; echo "\${COMPREPLY[@]}"
COMP_WORDS=(sddc-ops backup lo); COMP_CWORD=2; _sddc_ops; echo "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    expect(r.stdout.trim().split('\n')).toEqual(['drill', 'logs']);
  });

  it('an unknown shell is bad input', async () => {
    expect((await cli(['completion', 'tcsh'])).code).toBe(2);
  });
});
