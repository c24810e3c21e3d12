#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliError, EXIT, info, setMachineFormat } from './output.js';
import { COMMAND_SUMMARIES, type CommandName } from './summaries.js';
import { EXAMPLES } from './examples.js';

/**
 * Each command is loaded only when it runs: Temporal's packages, the SSH stack and the config
 * schema take most of a second to load, and `--help` needs none of them.
 */
const LOADERS: Record<CommandName, () => Promise<Command>> = {
  backup: async () => (await import('./backup.js')).backupCommand(),
  schedule: async () => (await import('./schedule.js')).scheduleCommand(),
  appdata: async () => (await import('./appdata.js')).appDataCommand(),
  worker: async () => (await import('./worker.js')).workerCommand(),
  dev: async () => (await import('./dev.js')).devCommand(),
  lab: async () => (await import('./lab.js')).labCommand(),
  'scale-out': async () => (await import('./scale-out.js')).scaleOutCommand(),
  approve: async () => (await import('./scale-out.js')).approveCommand(),
  cancel: async () => (await import('./scale-out.js')).cancelCommand(),
  site: async () => (await import('./scale-out.js')).siteCommand(),
  restore: async () => (await import('./restore.js')).restoreCommand(),
  completion: async () => {
    const { COMPLETION_SCRIPTS } = await import('./completion.js');
    return new Command('completion')
      .description(COMMAND_SUMMARIES.completion)
      .argument('<shell>', 'bash, zsh or fish')
      .action((shell: string) => {
        const script = COMPLETION_SCRIPTS[shell as keyof typeof COMPLETION_SCRIPTS];
        if (!script) throw new CliError(`completion ${shell}: expected bash, zsh or fish`, EXIT.BAD_INPUT);
        process.stdout.write(script);
      });
  },
  doctor: async () => (await import('./doctor.js')).doctorCommand(),
  report: async () => (await import('./report.js')).reportCommand(),
  sftp: async () => (await import('./sftp.js')).sftpCommand(),
  'codec-server': async () => (await import('./codec-server.js')).codecServerCommand(),
  'temporal-cli': async () =>
    new Command('temporal-cli').description(COMMAND_SUMMARIES['temporal-cli']).action(async () => {
      const { ensureTemporalCli } = await import('../temporal/cli-provision.js');
      const r = await ensureTemporalCli({ onProgress: info });
      process.stdout.write(`${r.path}\n`);
      info(`source: ${r.source}`);
    }),
};

const isCommand = (name: string | undefined): name is CommandName => !!name && Object.hasOwn(COMMAND_SUMMARIES, name);

/** The command the arguments run (`help X` shows X's help), if any. */
export function commandIn(args: string[]): CommandName | undefined {
  const first = args.find((a) => !a.startsWith('-'));
  const name = first === 'help' ? args[args.indexOf('help') + 1] : first;
  return isCommand(name) ? name : undefined;
}

export async function buildProgram(argv: string[]): Promise<Command> {
  const program = new Command('sddc-ops')
    .description(
      'Durable, verified backup (and later DR and scale-out) of vCenter Server + NSX + IKS estates, as Temporal workflows.\n' +
        'Start with `sddc-ops dev --demo`, then `sddc-ops backup run --site S --config F`.',
    )
    .version('0.1.0')
    .showHelpAfterError();
  const wanted = commandIn(argv.slice(2));
  for (const name of Object.keys(COMMAND_SUMMARIES) as CommandName[]) {
    // The others are listed by name and summary only.
    program.addCommand(name === wanted ? await LOADERS[name]() : new Command(name).description(COMMAND_SUMMARIES[name]));
  }
  // Usage errors anywhere end in exit 2: exitOverride does not reach commands added with addCommand.
  const everywhere = (c: Command, path = '') => {
    c.exitOverride().showHelpAfterError();
    // Every help ends with an example: the command's own, or the table's.
    const examples = EXAMPLES[path];
    if (examples) c.addHelpText('after', `\n${examples.length > 1 ? 'Examples' : 'Example'}:\n${examples.map((e) => `  ${e}`).join('\n')}\n`);
    // Every command that prints data takes -o table|json|yaml, as kubectl, velero and govc do; --json stays, as -o json.
    if (c.options.some((o) => o.long === '--json')) {
      c.option('-o, --output <format>', 'table (for people, the default), json or yaml; --json is -o json');
      c.hook('preAction', async (_self, action) => {
        const format = action.opts().output as string | undefined;
        if (format === undefined || format === 'table') return;
        if (format !== 'json' && format !== 'yaml') throw new CliError(`-o ${format}: expected table, json or yaml`, EXIT.BAD_INPUT);
        action.setOptionValue('json', true);
        await setMachineFormat(format);
      });
    }
    c.commands.forEach((sub) => everywhere(sub, path ? `${path} ${sub.name()}` : sub.name()));
  };
  everywhere(program);
  return program;
}

/** Every command loaded (completion walks them all). */
async function fullProgram(): Promise<Command> {
  const program = new Command('sddc-ops');
  for (const name of Object.keys(COMMAND_SUMMARIES) as CommandName[]) program.addCommand(await LOADERS[name]());
  return program;
}

/** A value pasted by mistake (a 100 kB name) is shown by its start and its length, never whole. */
export function elideLong(message: string): string {
  return message.replace(/(\S{256,}?)([:,;]?)(?=\s|$)/g, (_, s: string, tail: string) => `${s.slice(0, 64)}…(${s.length} characters)${tail}`);
}

export async function main(argv: string[]): Promise<number> {
  // gRPC's TLS to an IP address trips DEP0123 on every command; the operator can do nothing about it.
  process.noDeprecation = true;
  if (argv[2] === '__complete') {
    const { candidates } = await import('./completion.js');
    process.stdout.write(candidates(await fullProgram(), argv.slice(3)).join('\n') + '\n');
    return EXIT.OK;
  }
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.OK : EXIT.BAD_INPUT;
    }
    // By name: importing these errors' modules would load what `--help` avoids.
    const name = (err as Error)?.name;
    if (name === 'ConfigError') {
      info(elideLong((err as Error).message));
      return EXIT.BAD_INPUT;
    }
    if (err instanceof CliError) {
      info(`error: ${elideLong(err.message)}`);
      return err.exitCode;
    }
    if (name === 'PortInUse' || name === 'EncryptionConfigError' || name === 'PayloadKeyMissing' || name === 'PayloadKeyUnknown') {
      info(`error: ${elideLong((err as Error).message)}`);
      return EXIT.BAD_INPUT;
    }
    info(`error: ${elideLong((err as Error)?.message ?? String(err))}`);
    return EXIT.RUN_FAILED;
  }
}

/** Resolves once everything written to the stream has reached the OS (a pipe's reader may be slow). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/**
 * Exits with `code` once stdout and stderr have drained: `process.exit` with output still queued
 * for a pipe cuts it (a `--json` list piped into `jq` would end at 64 KiB).
 */
export async function exitWhenDrained(code: number): Promise<never> {
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}

const invokedDirectly = process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  let code: number = EXIT.RUN_FAILED;
  // A reader that goes away (`| head`) is not an error of ours: stop writing and exit.
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (err: NodeJS.ErrnoException) => process.exit(err.code === 'EPIPE' ? code : EXIT.RUN_FAILED));
  }
  main(process.argv).then((c) => {
    code = c;
    return exitWhenDrained(c);
  });
}
