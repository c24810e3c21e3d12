import { Command } from 'commander';
import { addConnectionOptions, type ConnectionOpts } from './common.js';
import { COMMAND_SUMMARIES } from './summaries.js';

// Definitions only (report-run.ts does the work): `--help` loads no charting library.
export function reportCommand(): Command {
  return addConnectionOptions(
    new Command('report')
      .description(COMMAND_SUMMARIES.report)
      .option('--site <name>', 'site name from the config file')
      .option('--all-sites', 'every site in the config')
      .option('--html <file>', 'also write the report as one self-contained HTML file (charts as SVG; nothing fetched when opened)')
      .option('--config <file>', 'config file')
      .option('--json', 'machine-readable'),
  )
    .addHelpText(
      'after',
      '\nReads the catalogs on the SFTP targets (no Temporal needed; when it answers, the next scheduled run is shown too). Every\n' +
        'backup run also writes the site\'s report beside its backups, as <target>/report/index.html.\n' +
        'Exit codes: 0 every site has a complete, verified set; 1 a site has none (or a target could not be read); 2 bad input.\n\n' +
        'Examples:\n  sddc-ops report --all-sites --html /var/www/backup-health.html\n  sddc-ops report --site tokyo-1 --json | jq .sites[0].newestGood\n',
    )
    .action(async (o: ReportOpts) => (await import('./report-run.js')).report(o));
}

export type ReportOpts = ConnectionOpts & { site?: string; allSites?: boolean; html?: string; config?: string; json?: boolean };
