import { Command } from 'commander';
import { addConnectionOptions, type ConnectionOpts } from './common.js';
import { COMMAND_SUMMARIES } from './summaries.js';
import type { AddSiteOpts, IksOpts } from './scale-out-run.js';

// Definitions only; what the commands do is loaded when they run (scale-out-run.ts).
export type ScaleOutOpts = ConnectionOpts & {
  site: string;
  config?: string;
  host?: string[];
  plan?: boolean;
  requireApproval?: boolean;
  skipBackup?: boolean;
  wait: boolean;
  json?: boolean;
};

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

function common(cmd: Command): Command {
  return addConnectionOptions(
    cmd
      .requiredOption('--site <name>', 'site name from the config file')
      .option('--host <name[=thumbprint]>', 'a new ESXi host, with its SSL thumbprint (SHA-1, colon hex) when known; repeat for each host (at least one)', collect)
      .option('--config <file>', 'config file')
      .option('--plan', 'print the steps (each with its undo), the thumbprints and HA before → after, and change nothing')
      .option('--require-approval', 'wait for `sddc-ops approve RUN --by NAME` (with the plan and thumbprints) before changing anything')
      .option('--skip-backup', 'do not take the pre-change coordinated backup of the site (recorded in the result)')
      .option('--no-wait', 'start the run and return (prints its id)')
      .option('--json', 'machine-readable result'),
  ).addHelpText(
    'after',
    '\nA host without a thumbprint: vCenter is asked for it and the run stops before any change, printing it to pin — or,\n' +
      'with --require-approval, shows it with the plan for approval. A failure at any step, or `sddc-ops cancel RUN`, undoes\n' +
      'the steps done so far in reverse; the run then fails ScaleOutRolledBack with what was undone.\n' +
      'Exit codes: 0 done (or planned, or started with --no-wait); 1 the run failed or was rolled back; 2 bad input.\n',
  );
}

export function scaleOutCommand(): Command {
  const cmd = new Command('scale-out').description(COMMAND_SUMMARIES['scale-out']);
  common(cmd.command('add-hosts').description('Add ESXi hosts to an existing cluster, then recompute its HA admission-control reservation').requiredOption('--cluster <name>', 'the cluster')).action(
    async (o: ScaleOutOpts & { cluster: string }) => (await import('./scale-out-run.js')).startScaleOut('addHosts', o),
  );
  common(
    cmd
      .command('add-cluster')
      .description('Create a cluster (HA/DRS from sites.<site>.scaleOut.newCluster) and add its hosts — or, where capacity is ordered from IBM, order it')
      .requiredOption('--name <name>', 'the new cluster\'s name')
      .option('--host-count <n>', 'on a site whose capacity is ordered from IBM: how many hosts (IBM names them; no --host)'),
  ).action(async (o: ScaleOutOpts & { name: string; hostCount?: string }) => (await import('./scale-out-run.js')).startScaleOut('addCluster', o));
  const iks = cmd.command('iks').description('Grow an IKS worker pool — resize it, or add a zone — then wait until every worker is deployed and healthy');
  const iksCommon = (c: Command) =>
    addConnectionOptions(
      c
        .requiredOption('--site <name>', 'site name from the config file (the cluster is one of its iksClusters)')
        .requiredOption('--cluster <id|name>', 'the IKS cluster, as linked in sites.<site>.iksClusters')
        .requiredOption('--pool <name>', 'the worker pool')
        .option('--config <file>', 'config file')
        .option('--plan', 'print the change, the workers before → after and the app-data acknowledgement, and change nothing')
        .option('--require-approval', 'wait for `sddc-ops approve RUN --by NAME` before changing anything')
        .option('--no-wait', 'start the run and return (prints its id)')
        .option('--json', 'machine-readable result'),
    ).addHelpText(
      'after',
      '\nThe cluster must be normal with a healthy master, and the pool settled. The app owners must have acknowledged their\n' +
        'app-data backups within sites.<site>.appData.maxAgeBeforeChange; otherwise the run waits for an approval that names\n' +
        'the stale acknowledgement. The etcd record is taken before and after. A worker that fails, a refused request, a\n' +
        'failed post-check or `sddc-ops cancel RUN` puts the pool back and waits for it; the run then fails ScaleOutRolledBack.\n' +
        'Exit codes: 0 done (or planned, or started with --no-wait); 1 the run failed or was rolled back; 2 bad input.\n',
    );
  iksCommon(iks.command('resize').description('Set the pool\'s workers per zone').requiredOption('--size-per-zone <n>', 'workers in each zone of the pool')).action(
    async (o: IksOpts) => (await import('./scale-out-run.js')).startIksChange('resize', o),
  );
  iksCommon(
    iks
      .command('add-zone')
      .description('Spread the pool to one more zone (it gets the pool\'s size there)')
      .requiredOption('--zone <zone>', 'the zone, e.g. tok04')
      .option('--private-vlan <id>', 'classic clusters: the private VLAN in that zone')
      .option('--public-vlan <id>', 'classic clusters: the public VLAN in that zone'),
  ).action(async (o: IksOpts) => (await import('./scale-out-run.js')).startIksChange('add-zone', o));
  addConnectionOptions(
    cmd
      .command('add-site')
      .description('Order a new site — a vCenter Server (NSX-T) instance — from IBM Cloud for VMware Solutions, then back it up and schedule its backups')
      .requiredOption('--name <site>', 'the new site\'s name (1–10 lowercase letters, digits, -); IBM names the instance after it')
      .requiredOption('--location <dc>', 'IBM Cloud data center of its management cluster, e.g. tok02')
      .option('--hosts <n>', 'hosts of the management cluster (default 3)')
      .option('--root-domain <domain>', 'the instance\'s root domain (default: that of the config\'s IBM-ordered sites)')
      .option('--config <file>', 'config file')
      .option('--plan', 'ask IBM to verify and price the order, print it, and order nothing')
      .option('--require-approval', 'always implied: an instance costs money; the run waits for `sddc-ops approve RUN --by NAME`')
      .option('--no-wait', 'start the run and return (prints its id)')
      .option('--json', 'machine-readable result'),
  )
    .addHelpText(
      'after',
      '\nThe run orders the instance and waits for it (hours), then prints the site block to add to the config (secrets as\n' +
        'references to fill in) and waits for `sddc-ops site ready SITE --run RUN`; it then takes the site\'s first coordinated\n' +
        'backup and creates its backup schedule. A failure at any step, or `sddc-ops cancel RUN`, deletes the instance this run\n' +
        'ordered (never another) and the schedules it made. An account IBM no longer lets order new instances is refused at the plan.\n',
    )
    .action(async (o: AddSiteOpts) => (await import('./scale-out-run.js')).startAddSite(o));
  addConnectionOptions(cmd.command('status <run>').description('The checklist of a scale-out run: steps, undos, rollback').option('--config <file>', 'config file').option('--json', 'machine-readable')).action(
    async (run: string, o: ConnectionOpts & { config?: string; json?: boolean }) => (await import('./scale-out-run.js')).status(run, o),
  );
  return cmd;
}

export function approveCommand(): Command {
  return addConnectionOptions(
    new Command('approve')
      .description(COMMAND_SUMMARIES.approve)
      .argument('<run>', 'the run\'s workflow id (printed when it started)')
      .requiredOption('--by <name>', 'who approves (recorded in the run)')
      .option('--config <file>', 'config file')
      .option('--json', 'machine-readable'),
  ).action(async (run: string, o: ConnectionOpts & { by: string; config?: string; json?: boolean }) => (await import('./scale-out-run.js')).approve(run, o));
}

export function cancelCommand(): Command {
  return addConnectionOptions(
    new Command('cancel').description(COMMAND_SUMMARIES.cancel).argument('<run>', 'the run\'s workflow id').option('--config <file>', 'config file').option('--json', 'machine-readable'),
  ).action(async (run: string, o: ConnectionOpts & { config?: string; json?: boolean }) => (await import('./scale-out-run.js')).cancel(run, o));
}

export function siteCommand(): Command {
  const cmd = new Command('site').description(COMMAND_SUMMARIES.site);
  addConnectionOptions(
    cmd
      .command('ready <site>')
      .description('Tell a waiting `scale-out add-site` run that the site\'s block is in the config: it is checked first (secrets resolve, endpoints answer)')
      .requiredOption('--run <run>', 'the add-site run\'s workflow id')
      .option('--by <name>', 'who added the block (default: your login name)')
      .option('--config <file>', 'config file (the one the workers read)')
      .option('--json', 'machine-readable'),
  ).action(async (site: string, o: ConnectionOpts & { run: string; by?: string; config?: string; json?: boolean }) => (await import('./site-ready.js')).siteReady(site, o));
  return cmd;
}
