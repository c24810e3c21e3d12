#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config/load.js';
import { ensureTemporalCli } from '../temporal/cli-provision.js';
import { PortInUseError } from '../temporal/dev-server.js';
import { backupCommand } from './backup.js';
import { devCommand } from './dev.js';
import { labCommand } from './lab.js';
import { workerCommand } from './worker.js';
import { scheduleCommand } from './schedule.js';
import { appDataCommand } from './appdata.js';
import { CliError, EXIT, info } from './output.js';

export function buildProgram(): Command {
  const program = new Command('sddc-ops')
    .description(
      'Durable, verified backup (and later DR and scale-out) of vCenter Server + NSX + IKS estates, as Temporal workflows.\n' +
        'Start with `sddc-ops dev --demo`, then `sddc-ops backup run --site S --config F`.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(backupCommand());
  program.addCommand(scheduleCommand());
  program.addCommand(appDataCommand());
  program.addCommand(workerCommand());
  program.addCommand(devCommand());
  program.addCommand(labCommand());
  program
    .command('temporal-cli')
    .description('Find or provision the temporal CLI (TEMPORAL_CLI_PATH, PATH, cache, go install, download) and print its path')
    .action(async () => {
      const r = await ensureTemporalCli({ onProgress: info });
      process.stdout.write(`${r.path}\n`);
      info(`source: ${r.source}`);
    });
  // Usage errors anywhere end in exit 2: exitOverride does not reach commands added with addCommand.
  const everywhere = (c: Command) => {
    c.exitOverride().showHelpAfterError();
    c.commands.forEach(everywhere);
  };
  everywhere(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.OK : EXIT.BAD_INPUT;
    }
    if (err instanceof ConfigError) {
      info(err.message);
      return EXIT.BAD_INPUT;
    }
    if (err instanceof CliError) {
      info(`error: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof PortInUseError) {
      info(`error: ${err.message}`);
      return EXIT.BAD_INPUT;
    }
    info(`error: ${(err as Error).message ?? String(err)}`);
    return EXIT.RUN_FAILED;
  }
}

const invokedDirectly = process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv).then((code) => process.exit(code));
}
