import { Command } from 'commander';
import { addConnectionOptions, type ConnectionOpts } from './common.js';
import { COMMAND_SUMMARIES } from './summaries.js';

// Definitions only; the checks are loaded when the command runs (doctor-run.ts).
export function doctorCommand(): Command {
  return addConnectionOptions(
    new Command('doctor')
      .description(COMMAND_SUMMARIES.doctor)
      .option('--site <name>', 'check only this site (default: every site in the config)')
      .option('--config <file>', 'config file')
      .option('--json', 'one object per check: {check, ok, detail}'),
  )
    .addHelpText(
      'after',
      '\nOne line per check, with what to fix. Touches nothing but a probe file on each SFTP target (written, then removed).\n' +
        'Exit codes: 0 every check passed; 1 a check failed; 2 bad input (the config does not load, an unknown site).\n\n' +
        'Example:\n  sddc-ops doctor --site tokyo-1 --config /etc/sddc-ops/config.yaml\n',
    )
    .action(async (o: DoctorOpts) => (await import('./doctor-run.js')).doctor(o));
}

export type DoctorOpts = ConnectionOpts & { site?: string; config?: string; json?: boolean };
