import { Command, Option } from 'commander';
import { addCatalogCommands } from './catalog.js';
import { addConnectionOptions, type ConnectionOpts } from './common.js';
import { COMMAND_SUMMARIES } from './summaries.js';

// Definitions only: what a command does is loaded when it runs, so that `--help` and the catalog
// commands start without loading Temporal's packages.
export type RunOpts = ConnectionOpts & { site?: string; allSites?: boolean; config?: string; wait: boolean; json?: boolean; ifBusy: 'queue' | 'skip' };
export type VerifyOpts = ConnectionOpts & { site?: string; config?: string; wait: boolean; json?: boolean };
export type RunRefOpts = ConnectionOpts & { runId?: string; config?: string; json?: boolean };

export function backupCommand(): Command {
  const backup = new Command('backup').description(COMMAND_SUMMARIES.backup);
  const run = backup
    .command('run')
    .description(
      'Back up one site now: NSX Manager configuration and the vCenter appliance to the site\'s SFTP target, ' +
        'verify both by SHA-256 over SFTP, and write backup-set.json beside them. Only one backup per site runs at a time.',
    )
    .option('--site <name>', 'site name from the config file')
    .option('--all-sites', 'every site in the config, at once (each still one backup per product at a time); one line per site as each ends')
    .option('--config <file>', 'config file (default: $SDDC_OPS_CONFIG, ./sddc-ops.yaml, ./config/sddc-ops.yaml)')
    .option('--no-wait', 'start the run and return at once (prints the workflow id and Web UI link)')
    .addOption(
      new Option('--if-busy <what>', 'when another run (any site, any start path) holds this site\'s NSX Manager or vCenter: queue behind it, within backup.timeout, or skip (fail at once, naming it)')
        .choices(['queue', 'skip'])
        .default('queue'),
    )
    .option('--json', 'machine-readable result on stdout; progress is not drawn')
    .addHelpText(
      'after',
      '\nExit codes: 0 backup set complete (or started, with --no-wait); 1 the run failed or one is already running; 2 bad input.\n' +
        'Example:\n  sddc-ops backup run --site tokyo-1 --config /etc/sddc-ops.yaml\n',
    );
  addConnectionOptions(run).action(async (opts: RunOpts) => (await import('./backup-run.js')).backupRunAction(opts));
  addCatalogCommands(backup);

  const verify = backup
    .command('verify <set>')
    .description(
      'Re-hash every file of a backup set over SFTP and compare with its manifest (bit rot, truncation, deletion), as a workflow. ' +
        'Records the verification in the manifest; fails naming the damaged files.',
    )
    .option('--site <name>', 'site (default: from the set id)')
    .option('--config <file>', 'config file')
    .option('--no-wait', 'start and return')
    .option('--json', 'machine-readable result');
  addConnectionOptions(verify).action(async (setId: string, opts: VerifyOpts) => (await import('./backup-run.js')).backupVerifyAction(setId, opts));

  // Runs, by workflow id (as `backup run --no-wait` prints it): the newest run of that id unless --run-id.
  const runCmd = (name: string, description: string, example: string) =>
    addConnectionOptions(
      backup
        .command(`${name} <run>`)
        .description(description)
        .option('--run-id <id>', 'a run other than the newest of that workflow id')
        .option('--config <file>', 'config file')
        .option('--json', 'machine-readable'),
    ).addHelpText('after', `\nExample:\n  ${example}\n`);
  runCmd('status', 'Where a backup run is: its state and each step (from the run itself while it runs)', 'sddc-ops backup status coordinated-backup-tokyo-1').action(
    async (run: string, o: RunRefOpts) => (await import('./backup-runs-cli.js')).backupStatus(run, o),
  );
  runCmd('wait', 'Wait for a backup run to end; exit 0 when it made a complete set, 1 otherwise', 'sddc-ops backup run --site tokyo-1 --no-wait && sddc-ops backup wait coordinated-backup-tokyo-1').action(
    async (run: string, o: RunRefOpts) => (await import('./backup-runs-cli.js')).backupWait(run, o),
  );
  runCmd('cancel', 'Cancel a running backup: the jobs it started are cancelled or waited for, and its set is recorded cancelled', 'sddc-ops backup cancel coordinated-backup-tokyo-1').action(
    async (run: string, o: RunRefOpts) => (await import('./backup-runs-cli.js')).backupCancel(run, o),
  );
  runCmd('logs', "A run's steps and events in order, from its history: activities with their summaries, attempts and failures", 'sddc-ops backup logs coordinated-backup-tokyo-1 | grep -i fail').action(
    async (run: string, o: RunRefOpts) => (await import('./backup-runs-cli.js')).backupLogs(run, o),
  );
  return backup;
}

