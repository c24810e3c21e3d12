import { Command } from 'commander';
import { addConnectionOptions, type ConnectionOpts } from './common.js';
import { COMMAND_SUMMARIES } from './summaries.js';

// Definitions only; what the commands do is loaded when they run (restore-run.ts).
export function restoreCommand(): Command {
  const cmd = new Command('restore').description(COMMAND_SUMMARIES.restore);
  cmd
    .command('plan')
    .description('Print the runbook to restore a site from a paired set: vCenter first, then NSX Manager, then reconciliation — locations, paired timestamps, secret references, checks')
    .requiredOption('--site <name>', 'site name from the config file')
    .option('--set <id>', 'the set to restore (default: the newest complete, verified set of the site)')
    .option('--force', 'allow a set that is not complete and verified (damaged, failed, …); the runbook says so')
    .option('--config <file>', 'config file')
    .option('--json', 'the runbook as JSON, for tools')
    .addHelpText('after', '\nReads the catalog on the site\'s SFTP target (no Temporal needed). Exit codes: 0 printed; 1 no restorable set or the target is unreadable; 2 bad input (an unknown or refused set).\n')
    .action(async (o: { site: string; set?: string; force?: boolean; config?: string; json?: boolean }) => (await import('./restore-run.js')).restorePlan(o));
  addConnectionOptions(
    cmd
      .command('run')
      .description('Restore a site from a paired set on newly deployed appliances at its addresses: vCenter (in restore mode) first, then NSX Manager')
      .requiredOption('--site <name>', 'site name from the config file (its vcenter.url and nsx.url lead to the new appliances)')
      .option('--set <id>', 'the set to restore (default: the newest complete, verified set)')
      .option('--force', 'allow a set that is not complete and verified')
      .option('--yes', 'no go-ahead asked before each stage')
      .option('--config <file>', 'config file')
      .option('--no-wait', 'start the run and return (prints its id)')
      .option('--json', 'machine-readable result'),
  )
    .addHelpText(
      'after',
      '\nThe set is re-verified first, and the new vCenter must accept the archive (validate) before anything changes. Unless --yes,\n' +
        'each stage waits for `sddc-ops restore continue RUN --by NAME`. When NSX suspends the restore for an operator action, the\n' +
        'run prints its instructions and waits for `sddc-ops restore continue RUN --by NAME --answer ID …`.\n' +
        'Exit codes: 0 restored (or started with --no-wait); 1 the restore failed; 2 bad input.\n',
    )
    .action(async (o: RestoreRunOpts) => (await import('./restore-run.js')).restoreRun(o));
  addConnectionOptions(
    cmd
      .command('continue <run>')
      .description('Let a waiting restore go ahead with its next stage, or answer what NSX asked for')
      .requiredOption('--by <name>', 'who goes ahead (recorded in the run)')
      .option('--answer <id>', 'an NSX instruction answered (repeat for each; ID or ID=JSON with the fields it asks for)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
      .option('--config <file>', 'config file')
      .option('--json', 'machine-readable'),
  ).action(async (run: string, o: ConnectionOpts & { by: string; answer?: string[]; config?: string; json?: boolean }) => (await import('./restore-run.js')).restoreContinue(run, o));
  addConnectionOptions(
    cmd
      .command('drill')
      .description('Prove a set restores: restore it into the site\'s sandbox (drill.sandbox), compare what came back with what the backup captured, and mark it restore-tested')
      .requiredOption('--site <name>', 'site name from the config file (its drill.sandbox says where to restore)')
      .option('--set <id>', 'the set to drill (default: the newest complete, verified set)')
      .option('--sandbox-redeployed', 'the sandbox appliances were redeployed after a drill left them part-way through a restore')
      .option('--config <file>', 'config file')
      .option('--no-wait', 'start the drill and return (prints its id)')
      .option('--json', 'machine-readable result'),
  )
    .addHelpText(
      'after',
      '\nNo go-aheads are asked and NSX\'s operator pauses are answered: the sandbox is not the site. A drill that passes marks the set\n' +
        'restore-tested (shown by `backup list` and `backup show`, and kept by retention); one that fails names what differs and tells\n' +
        'the site\'s drill.notify contacts. Schedule drills with a schedule of purpose drill.\n' +
        'Exit codes: 0 passed (or started with --no-wait); 1 the drill failed; 2 bad input.\n\n' +
        'Example:\n  sddc-ops restore drill --site tokyo --json | jq .restoreTested\n',
    )
    .action(async (o: RestoreDrillOpts) => (await import('./restore-run.js')).restoreDrillRun(o));
  cmd
    .command('sandbox')
    .description('What the drill sandbox holds: the last drill, and whether it was left part-way through a restore (dirty)')
    .requiredOption('--site <name>', 'site name from the config file')
    .option('--config <file>', 'config file')
    .option('--json', 'machine-readable')
    .action(async (o: { site: string; config?: string; json?: boolean }) => (await import('./restore-run.js')).restoreSandbox(o));
  return cmd;
}

export type RestoreDrillOpts = ConnectionOpts & { site: string; set?: string; sandboxRedeployed?: boolean; config?: string; wait: boolean; json?: boolean };
export type RestoreRunOpts = ConnectionOpts & { site: string; set?: string; force?: boolean; yes?: boolean; config?: string; wait: boolean; json?: boolean };
