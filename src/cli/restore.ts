import { Command } from 'commander';
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
  return cmd;
}
