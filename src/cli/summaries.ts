/**
 * What each top-level command is for: shown by `sddc-ops --help` before (and without) loading the
 * command, and by the command itself.
 */
export const COMMAND_SUMMARIES = {
  backup: 'Coordinated NSX + vCenter backups to SFTP (backup sets)',
  schedule: "Cron backups on durable Temporal Schedules (visible on the Web UI's Schedules page). Ids are stable: sddc-ops.<site>.<purpose>.",
  appdata:
    "Application data on IKS is the customer's to back up (IBM backs up etcd only). sddc-ops tells each cluster's app owners, " +
    'reminds them, escalates, and records who confirmed, when and with what evidence in the backup set.',
  worker:
    'Run a worker that executes sddc-ops workflows and activities against any Temporal (dev server, self-hosted, Temporal Cloud). ' +
    'Secrets are resolved here, so the env: and file: references in the config must resolve on this machine.',
  dev:
    'Run everything on this machine: the Temporal dev server (SQLite in --data-dir, so runs survive a restart) with its Web UI ' +
    'and the sddc-ops search attributes, the lab (NSX and vCenter simulators and an SFTP server), and a worker. Ctrl-C stops what it started.',
  lab:
    'Run only the lab: NSX-T (or, with --nsx-flavor nsx-v, NSX for vSphere) Manager and vCenter appliance simulators, a drill sandbox and an SFTP server, and write a config for them. ' +
    'Faults are injected with PUT <simulator>/lab/faults, e.g. {"http5xx":3}, {"unauthorized":true}, {"expireSessions":true}, {"jobDurationMs":60000}, ' +
    '{"failJob":{"message":"..."}}, {"upload":"truncate"|"corrupt"}, {"badFingerprint":true}; DELETE clears them.',
  'scale-out': 'Grow the estate as rollback-safe runs: add hosts to a cluster (HA reservation recomputed), add a cluster, grow an IKS worker pool, order a new site',
  restore: 'Restore a site from a backup set (vCenter first, then NSX): the runbook, the restore itself, and drills that prove sets restore',
  site: 'Sites that scale-out adds: confirm a new site\'s config block to the run that waits for it',
  approve: 'Approve a scale-out run that waits for approval (--require-approval), after reading its plan',
  cancel: 'Cancel a run: a scale-out undoes what it changed so far, in reverse; a restore or drill stops the restore jobs it started',
  report: 'Backup health at a glance, per site: the newest good and restore-tested sets, success rates over 30 and 90 days, sizes and durations over time (charts with --html), problems, the next run, unconfirmed app data',
  sftp: 'The SFTP backup server: its ECDSA host key fingerprint, to pin and to compare with what NSX Manager sees',
  'codec-server':
    "Serve the payload codec over HTTP (Temporal's remote codec protocol, bearer token, CORS for the Web UI only), so encrypted runs read in clear in the UI and nowhere else",
  completion: 'Print the shell completion script for bash, zsh or fish (source <(sddc-ops completion bash))',
  doctor: 'Check a config end to end before the first run: secrets resolve, endpoints answer and accept their logins, the SFTP host key and directory, Temporal\'s search attributes and a worker — one line per check, with what to fix',
  'temporal-cli': 'Find or provision the temporal CLI (TEMPORAL_CLI_PATH, PATH, cache, go install, download) and print its path',
} as const;

export type CommandName = keyof typeof COMMAND_SUMMARIES;
