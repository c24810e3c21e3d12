import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { COMMAND_SUMMARIES } from '../../src/cli/summaries.js';

/** Every command and subcommand, with the text its --help prints. */
async function helps(): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const name of Object.keys(COMMAND_SUMMARIES)) {
    const program = await buildProgram(['node', 'sddc-ops', name]);
    const walk = (c: Command, path: string) => {
      let text = '';
      c.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
      c.outputHelp();
      out.push([path, text]);
      for (const sub of c.commands.filter((x) => x.name() !== 'help')) walk(sub, `${path} ${sub.name()}`);
    };
    walk(program.commands.find((c) => c.name() === name)!, name);
  }
  return out;
}

describe('--help', () => {
  it('every command\'s help ends with at least one example that runs sddc-ops', async () => {
    const all = await helps();
    expect(all.length).toBeGreaterThan(40);
    const without = all.filter(([, text]) => !/Examples?:\n( {2}.*\n)*\s*$/.test(text.replace(/\s+$/, '\n')) || !/^ {2}sddc-ops /m.test(text.slice(text.lastIndexOf('Example'))));
    expect(without.map(([path]) => path)).toEqual([]);
  });
});
