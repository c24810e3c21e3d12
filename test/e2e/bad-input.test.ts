import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { cli, startStack, type Stack } from '../fixtures/stack.js';

/**
 * The bad-input suite (issue 20): every malformed input below — CLI arguments, config files, cron,
 * time zones, fingerprints, thumbprints, URLs, names with path characters, unknown sites and
 * clusters, absurd counts and durations, oversized values — is refused with exit 2 and a message
 * naming what to fix, no stack trace, nothing started on the Temporal server and nothing written to
 * the SFTP target or touched in the lab. One stack (a real Temporal dev server, the lab with sshd,
 * a worker on the good config) serves the whole table. test/cli/usage-errors.test.ts is the
 * server-less table of plain usage errors; this one is beside it, against a live stack.
 */

const SITE = 'badin';
let stack: Stack;
let configDir: string;

/** A config document as the lab wrote it, to mutate. */
type Doc = { temporal: Record<string, any>; ibmCloud?: Record<string, any>; notifications: Record<string, any>; sites: Record<string, Record<string, any>> };

interface Case {
  name: string;
  /** The CLI arguments; `--config` (the lab's, or the mutated copy) and `--address` are added (see `bare`, `noTemporal`). */
  args: string[];
  /** A config mutation: written to a copy of the lab config, which `--config` then names. */
  config?: (doc: Doc) => void;
  /** The config file's whole text instead. */
  rawConfig?: string;
  /** Nothing is added (the command takes neither --config nor --address, or names them itself; @lab-config is the lab's config). */
  bare?: boolean;
  /** The command reads the SFTP target, not Temporal: only --config is added. */
  noTemporal?: boolean;
  /** What stderr must say: the field, flag or value to fix. */
  says: RegExp;
  /** A value that must never be echoed (a secret pasted by mistake). */
  never?: string;
}

const site = (doc: Doc) => doc.sites[SITE]!;
const backupRun = ['backup', 'run', '--site', SITE];
const HUGE = 'a'.repeat(100_000); // one argv string can hold at most 128 KiB
const THUMB = Array.from({ length: 20 }, () => 'AB').join(':');
const CRON = ['--cron', '0 2 * * *'];

const CASES: Case[] = [
  // ── site names, set ids and other names with path characters; unknown sites ─────────────────
  { name: 'backup run: a site with path characters', args: ['backup', 'run', '--site', '../etc'], says: /sites\.\.\.\/etc: no such site; defined sites: badin/ },
  { name: 'backup run: an unknown site', args: ['backup', 'run', '--site', 'nowhere'], says: /sites\.nowhere: no such site; defined sites: badin/ },
  { name: 'backup run: a 100 kB site name', args: ['backup', 'run', '--site', HUGE], says: /sites\.a+…\(100006 characters\): no such site; defined sites: badin/ },
  { name: 'backup prune: a site that is a path', args: ['backup', 'prune', '--site', '/etc/passwd', '--dry-run'], noTemporal: true, says: /sites\.\/etc\/passwd: no such site/ },
  { name: 'backup verify: a set id with ../', args: ['backup', 'verify', `${SITE}-20260101T000000Z/../../x`], says: /is not a backup set id/ },
  { name: 'backup verify: a set id of a site not in the config', args: ['backup', 'verify', 'elsewhere-20260101T000000Z'], says: /cannot tell the site of "elsewhere-20260101T000000Z".*pass --site/ },
  { name: 'backup show: a set id that is a path', args: ['backup', 'show', 'sets/../../etc'], noTemporal: true, says: /"sets\/\.\.\/\.\.\/etc" is not a backup set id/ },
  { name: 'restore drill: --set with a slash', args: ['restore', 'drill', '--site', SITE, '--set', 'a/b'], says: /"a\/b" is not a backup set id/ },
  { name: 'restore run: --set ..', args: ['restore', 'run', '--site', SITE, '--set', '..'], says: /"\.\." is not a backup set id/ },
  { name: 'restore run: a well-formed set the target does not hold', args: ['restore', 'run', '--site', SITE, '--set', `${SITE}-20200101T000000Z`, '--yes'], says: new RegExp(`no backup set ${SITE}-20200101T000000Z: .*backup list --site ${SITE}`) },
  { name: 'restore drill: a well-formed set the target does not hold', args: ['restore', 'drill', '--site', SITE, '--set', `${SITE}-20200101T000000Z`], says: new RegExp(`no backup set ${SITE}-20200101T000000Z`) },
  { name: 'backup verify: a well-formed set the target does not hold', args: ['backup', 'verify', `${SITE}-20200101T000000Z`], says: new RegExp(`no backup set ${SITE}-20200101T000000Z: .*backup list`) },
  { name: 'restore plan: an unknown site', args: ['restore', 'plan', '--site', 'nowhere'], noTemporal: true, says: /sites\.nowhere: no such site/ },
  { name: 'schedule create: a site with path characters', args: ['schedule', 'create', '--site', '../x', ...CRON], says: /sites\.\.\.\/x: no such site/ },
  { name: 'appdata status: an unknown site', args: ['appdata', 'status', '--site', 'nowhere'], says: /sites\.nowhere: no such site; defined sites: badin/ },
  { name: 'appdata remind: a site with path characters', args: ['appdata', 'remind', '--site', '../x'], says: /sites\.\.\.\/x: no such site; defined sites: badin/ },
  { name: 'site ready: a site with path characters', args: ['site', 'ready', '../x', '--run', 'scale-out-add-site-x'], says: /sites\.\.\.\/x: no such site/ },
  { name: 'doctor: an unknown site', args: ['doctor', '--site', 'nowhere'], says: /nowhere.*no such site/ },
  { name: 'report: a site with path characters', args: ['report', '--site', '../x'], says: /sites\.\.\.\/x: no such site/ },

  // ── unknown clusters and runs ───────────────────────────────────────────────────────────────
  { name: 'scale-out add-hosts: an unknown cluster', args: ['scale-out', 'add-hosts', '--site', SITE, '--cluster', 'NOPE', '--host', `esx-77.lab.local=${THUMB}`, '--skip-backup'], says: /--cluster NOPE: vCenter of site badin has no such cluster \(clusters: DC0_C0\)/ },
  { name: 'scale-out add-hosts: a cluster name with path characters', args: ['scale-out', 'add-hosts', '--site', SITE, '--cluster', '../DC0_C0', '--host', `esx-77.lab.local=${THUMB}`], says: /--cluster \.\.\/DC0_C0: vCenter of site badin has no such cluster/ },
  { name: 'scale-out iks resize: a cluster the site does not link', args: ['scale-out', 'iks', 'resize', '--site', SITE, '--cluster', 'nope', '--pool', 'default', '--size-per-zone', '3'], says: /--cluster nope: site badin links no such IKS cluster \(sites\.badin\.iksClusters: lab-apps\)/ },
  { name: 'appdata ack: an unknown cluster', args: ['appdata', 'ack', '--cluster', 'nope', '--by', 'me'], says: /unknown cluster "nope": linked IKS clusters are lab-apps/ },
  { name: 'approve: a run that does not exist', args: ['approve', 'scale-out-nope', '--by', 'me'], says: /no run scale-out-nope/ },
  { name: 'cancel: a run that does not exist', args: ['cancel', 'scale-out-nope'], says: /no run scale-out-nope/ },

  // ── counts ──────────────────────────────────────────────────────────────────────────────────
  { name: 'add-cluster: --host-count -1', args: ['scale-out', 'add-cluster', '--site', SITE, '--name', 'c2', '--host-count', '-1'], says: /--host-count -1: .*2 to 64 hosts/ },
  { name: 'add-cluster: --host-count 0', args: ['scale-out', 'add-cluster', '--site', SITE, '--name', 'c2', '--host-count', '0'], says: /--host-count 0: .*2 to 64 hosts/ },
  { name: 'add-cluster: --host-count 1e9', args: ['scale-out', 'add-cluster', '--site', SITE, '--name', 'c2', '--host-count', '1e9'], says: /--host-count 1e9: .*2 to 64 hosts/ },
  { name: 'add-cluster: --host-count on a site whose hosts are not ordered from IBM', args: ['scale-out', 'add-cluster', '--site', SITE, '--name', 'c2', '--host-count', '3'], says: /--host-count 3: site badin does not order its capacity from IBM \(capacity\.provider is vcenter-direct\)/ },
  { name: 'iks resize: --size-per-zone 2.5', args: ['scale-out', 'iks', 'resize', '--site', SITE, '--cluster', 'lab-apps', '--pool', 'default', '--size-per-zone', '2.5'], says: /--size-per-zone 2\.5: give a whole number/ },
  { name: 'iks resize: --size-per-zone 1e9', args: ['scale-out', 'iks', 'resize', '--site', SITE, '--cluster', 'lab-apps', '--pool', 'default', '--size-per-zone', '1e9'], says: /--size-per-zone 1e9/ },
  { name: 'add-cluster: a new cluster name with a slash', args: ['scale-out', 'add-cluster', '--site', SITE, '--name', 'a/b', '--host', `esx-77.lab.local=${THUMB}`], says: /--name a\/b: a cluster name is 1-80 characters, without \/ \\ or %/ },
  { name: 'add-site: --hosts 100000', args: ['scale-out', 'add-site', '--name', 'new1', '--location', 'tok02', '--hosts', '100000'], says: /--hosts 100000: the management cluster needs 2 to 64 hosts/ },
  { name: 'add-site: a site name with path characters', args: ['scale-out', 'add-site', '--name', '../x', '--location', 'tok02'], says: /--name \.\.\/x: 1–10 lowercase letters/ },

  // ── hosts and thumbprints ───────────────────────────────────────────────────────────────────
  { name: 'add-hosts: --host NAME=notathumbprint', args: ['scale-out', 'add-hosts', '--site', SITE, '--cluster', 'DC0_C0', '--host', 'esx-77.lab.local=notathumbprint'], says: /--host esx-77\.lab\.local=notathumbprint: the thumbprint must be SHA-1 as 20 colon-separated hex pairs/ },
  { name: 'add-hosts: a SHA-256 thumbprint (32 pairs)', args: ['scale-out', 'add-hosts', '--site', SITE, '--cluster', 'DC0_C0', '--host', `esx-77.lab.local=${THUMB}:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB`], says: /the thumbprint must be SHA-1/ },
  { name: 'add-hosts: a host name that is ..', args: ['scale-out', 'add-hosts', '--site', SITE, '--cluster', 'DC0_C0', '--host', '..'], says: /--host \.\.: expected a host name/ },
  { name: 'add-hosts: a host name with a slash', args: ['scale-out', 'add-hosts', '--site', SITE, '--cluster', 'DC0_C0', '--host', 'esx/../../etc'], says: /--host esx\/\.\.\/\.\.\/etc: expected a host name/ },
  { name: 'add-hosts: a 100 kB host name', args: ['scale-out', 'add-hosts', '--site', SITE, '--cluster', 'DC0_C0', '--host', HUGE], says: /--host a+…\(100000 characters\): expected a host name/ },

  // ── cron, time zones, durations ─────────────────────────────────────────────────────────────
  { name: 'schedule create: --cron "61 * * * *"', args: ['schedule', 'create', '--site', SITE, '--cron', '61 * * * *'], says: /--cron: the minute field "61" is not valid/ },
  { name: 'schedule create: six cron fields', args: ['schedule', 'create', '--site', SITE, '--cron', '0 0 2 * * *'], says: /--cron: .* has 6 field\(s\); write five/ },
  { name: 'schedule create: --every 0s', args: ['schedule', 'create', '--site', SITE, '--every', '0s'], says: /--every: must be a duration/ },
  { name: 'schedule create: --every -1h', args: ['schedule', 'create', '--site', SITE, '--every', '-1h'], says: /--every: must be a duration/ },
  { name: 'schedule create: --every 99999999d', args: ['schedule', 'create', '--site', SITE, '--every', '99999999d'], says: /--every: must be at most 3650d/ },
  { name: 'schedule create: --tz Mars/Olympus', args: ['schedule', 'create', '--site', SITE, ...CRON, '--tz', 'Mars/Olympus'], says: /--tz: "Mars\/Olympus" is not an IANA time zone/ },
  { name: 'schedule create: --jitter -5m', args: ['schedule', 'create', '--site', SITE, ...CRON, '--jitter', '-5m'], says: /--jitter: must be a duration/ },
  { name: 'schedule create: --catchup soon', args: ['schedule', 'create', '--site', SITE, ...CRON, '--catchup', 'soon'], says: /--catchup: must be a duration/ },
  { name: 'schedule create: --overlap sometimes', args: ['schedule', 'create', '--site', SITE, ...CRON, '--overlap', 'sometimes'], says: /--overlap: / },
  { name: 'schedule create: --purpose nope', args: ['schedule', 'create', '--site', SITE, ...CRON, '--purpose', 'nope'], says: /--purpose: / },
  { name: 'schedule create: both --cron and --every', args: ['schedule', 'create', '--site', SITE, ...CRON, '--every', '1h'], says: /give either cron or every/ },
  { name: 'schedule create: a 100 kB --note', args: ['schedule', 'create', '--site', SITE, ...CRON, '--note', HUGE], says: /--note: at most 1000 characters/ },
  { name: 'schedule pause: a 100 kB --note', args: ['schedule', 'pause', SITE, '--note', HUGE], says: /--note: at most 1000 characters/ },
  { name: 'schedule backfill: --from abc', args: ['schedule', 'backfill', SITE, '--from', 'abc', '--to', '2026-11-01T00:00:00Z'], says: /--from: "abc" is not a date-time/ },

  // ── fingerprints, URLs, addresses, ports ────────────────────────────────────────────────────
  { name: 'sftp fingerprint: port 99999', args: ['sftp', 'fingerprint', '127.0.0.1:99999'], bare: true, says: /127\.0\.0\.1:99999: expected HOST or HOST:PORT/ },
  { name: 'sftp fingerprint: a port that is not a number', args: ['sftp', 'fingerprint', 'sftp.example.com:ssh'], bare: true, says: /sftp\.example\.com:ssh: expected HOST or HOST:PORT/ },
  { name: 'backup run: --ui-url that is not a URL', args: [...backupRun, '--ui-url', 'not a url'], says: /option '--ui-url <url>' argument 'not a url' is invalid\. expected a URL/ },
  { name: 'backup run: --address that is not host:port', args: [...backupRun, '--config', '@lab-config', '--address', 'not an address'], bare: true, says: /option '--address <host:port>' argument 'not an address' is invalid\. expected host:port/ },
  { name: 'schedule list: --address with port 99999', args: ['schedule', 'list', '--config', '@lab-config', '--address', '127.0.0.1:99999'], bare: true, says: /option '--address <host:port>' argument '127\.0\.0\.1:99999' is invalid/ },
  { name: 'codec-server: --port 70000', args: ['codec-server', '--port', '70000', '--token', 'env:X'], bare: true, says: /--port must be a port number 1-65535, got "70000"/ },
  { name: 'dev: --port 70000', args: ['dev', '--port', '70000', '--data-dir', '/nonexistent/sddc-ops-dev'], bare: true, says: /--port must be a port number 1-65535, got "70000"/ },
  { name: 'worker: --metrics without a port', args: ['worker', '--metrics', 'localhost'], says: /--metrics localhost: expected host:port/ },
  { name: 'worker: --max-concurrent-activities 0', args: ['worker', '--max-concurrent-activities', '0'], says: /--max-concurrent-activities 0: expected a whole number from 1 to 10000/ },
  { name: 'worker: --max-cached-workflows 1.5', args: ['worker', '--max-cached-workflows', '1.5'], says: /--max-cached-workflows 1\.5: expected a whole number from 2 to 10000/ },

  // ── flags and formats ───────────────────────────────────────────────────────────────────────
  { name: '-o xml', args: ['backup', 'list', '--site', SITE, '-o', 'xml'], noTemporal: true, says: /-o xml: expected table, json or yaml/ },
  { name: 'an unknown flag', args: ['restore', 'drill', '--site', SITE, '--frobnicate'], says: /unknown option '--frobnicate'/ },
  { name: 'report --since (no such flag)', args: ['report', '--site', SITE, '--since', 'abc'], says: /unknown option '--since'/ },
  { name: 'a missing required flag', args: ['schedule', 'backfill', SITE, '--from', '2026-11-01T00:00:00Z'], says: /required option '--to <time>' not specified/ },
  { name: '--if-busy maybe', args: [...backupRun, '--if-busy', 'maybe'], says: /option '--if-busy <what>' argument 'maybe' is invalid/ },
  { name: 'restore continue: an --answer whose JSON is broken', args: ['restore', 'continue', 'restore-site-badin', '--by', 'me', '--answer', 'q1={broken'], says: /--answer q1=\{broken: the part after = is not JSON/ },

  // ── config files ────────────────────────────────────────────────────────────────────────────
  { name: 'config: hostKeyFingerprint MD5:aa', args: backupRun, config: (d) => (site(d).backupTarget.hostKeyFingerprint = 'MD5:aa'), says: /sites\.badin\.backupTarget\.hostKeyFingerprint: must be the SHA-256 fingerprint/ },
  { name: 'config: a plain-http URL for a host that is not loopback', args: backupRun, config: (d) => (site(d).vcenter.url = 'http://vcsa.example.com'), says: /sites\.badin\.vcenter\.url: must use https:\/\// },
  { name: 'config: url ftp://x', args: backupRun, config: (d) => (site(d).nsx.url = 'ftp://x'), says: /sites\.badin\.nsx\.url: must use https:\/\// },
  { name: 'config: url that is not a URL', args: backupRun, config: (d) => (site(d).nsx.url = 'nsx.example.com'), says: /sites\.badin\.nsx\.url: must be a URL/ },
  { name: 'config: port 70000', args: backupRun, config: (d) => (site(d).backupTarget.port = 70000), says: /sites\.badin\.backupTarget\.port: / },
  { name: 'config: a 1 MB site name', args: backupRun, config: (d) => (d.sites['x'.repeat(1_000_000)] = site(d)), says: /sites\.x+…\(1000006 characters\): site names are lower-case letters, digits and -/ },
  { name: 'config: a site name with path characters', args: backupRun, config: (d) => (d.sites['../etc'] = site(d)), says: /sites\.\.\.\/etc.*: site names are lower-case letters, digits and -/ },
  { name: 'config: backup.timeout -1h', args: backupRun, config: (d) => (site(d).backup.timeout = '-1h'), says: /sites\.badin\.backup\.timeout: must be a duration/ },
  { name: 'config: backup.timeout 99999999d', args: backupRun, config: (d) => (site(d).backup.timeout = '99999999d'), says: /sites\.badin\.backup\.timeout: must be at most 3650d/ },
  { name: 'config: backup.pollInterval 500ms', args: backupRun, config: (d) => (site(d).backup.pollInterval = '500ms'), says: /sites\.badin\.backup\.pollInterval: must be at least 1s/ },
  { name: 'config: retention.keepLast -3', args: backupRun, config: (d) => (site(d).backupTarget.retention = { keepLast: -3 }), says: /sites\.badin\.backupTarget\.retention\.keepLast: / },
  { name: 'config: retention.maxAge forever', args: backupRun, config: (d) => (site(d).backupTarget.retention = { maxAge: 'forever' }), says: /sites\.badin\.backupTarget\.retention\.maxAge: must be a duration/ },
  { name: 'config: temporal.encryption currentKey not among keys', args: backupRun, config: (d) => (d.temporal.encryption = { currentKey: 'k9', keys: { k1: 'env:X' } }), says: /temporal\.encryption\.currentKey: currentKey must be one of the ids under keys/ },
  { name: 'config: certFingerprint zz', args: backupRun, config: (d) => (site(d).nsx.certFingerprint = 'zz'), says: /sites\.badin\.nsx\.certFingerprint: must be a certificate's SHA-256 fingerprint/ },
  { name: 'config: a password that is the secret itself', args: backupRun, config: (d) => (site(d).vcenter.password = 'hunter2-Secret!'), says: /sites\.badin\.vcenter\.password: must be a secret reference/, never: 'hunter2' },
  { name: 'config: directory relative', args: backupRun, config: (d) => (site(d).backupTarget.directory = 'backups/badin'), says: /sites\.badin\.backupTarget\.directory: must be an absolute path/ },
  { name: 'config: directory with .. segments', args: backupRun, config: (d) => (site(d).backupTarget.directory = '/home/x/../../etc'), says: /sites\.badin\.backupTarget\.directory: must not have \. or \.\. segments/ },
  { name: 'config: schedule cron "61 * * * *"', args: backupRun, config: (d) => (site(d).schedules = [{ cron: '61 * * * *' }]), says: /sites\.badin\.schedules\[0\]\.cron: the minute field "61" is not valid/ },
  { name: 'config: schedule time zone Mars/Olympus', args: backupRun, config: (d) => (site(d).schedules = [{ every: '1h', timezone: 'Mars/Olympus' }]), says: /sites\.badin\.schedules\[0\]\.timezone: "Mars\/Olympus" is not an IANA time zone/ },
  { name: 'config: hostFailuresToTolerate 99', args: backupRun, config: (d) => (site(d).scaleOut.newCluster = { hostFailuresToTolerate: 99 }), says: /sites\.badin\.scaleOut\.newCluster\.hostFailuresToTolerate: / },
  { name: 'config: an alert contact with no webhook', args: backupRun, config: (d) => (site(d).alerts.notify = [{ name: 'x', webhook: 'nowhere' }]), says: /sites\.badin\.alerts\.notify\[0\]\.webhook: no webhook "nowhere" under notifications\.webhooks/ },
  { name: 'config: temporal.taskQueue empty', args: backupRun, config: (d) => (d.temporal.taskQueue = ''), says: /temporal\.taskQueue: must name a task queue/ },
  { name: 'config: temporal.address not host:port', args: backupRun, config: (d) => (d.temporal.address = 'temporal.example.com'), says: /temporal\.address: expected host:port/ },
  { name: 'config: temporal.uiUrl not a URL', args: backupRun, config: (d) => (d.temporal.uiUrl = 'ui'), says: /temporal\.uiUrl: expected a URL/ },
  { name: 'config: ibmCloud.orders.pollInterval 0s', args: backupRun, config: (d) => (d.ibmCloud!.orders.pollInterval = '0s'), says: /ibmCloud\.orders\.pollInterval: must be a duration/ },
  { name: 'config: a misspelt key', args: backupRun, config: (d) => (site(d).vcentre = site(d).vcenter), says: /sites\.badin: unknown key\(s\) vcentre/ },
  { name: 'config: no sites', args: backupRun, config: (d) => (d.sites = {}), says: /sites: define at least one site/ },
  { name: 'config: YAML syntax error', args: backupRun, rawConfig: 'sites:\n  badin: [unclosed\n', says: /YAML syntax: / },
  { name: 'config: an empty file', args: backupRun, rawConfig: '', says: /invalid configuration\n {2}- the file is empty/ },
  { name: 'config: a file that does not exist', args: [...backupRun, '--config', '/nonexistent/sddc-ops.yaml'], bare: true, says: /\/nonexistent\/sddc-ops\.yaml: invalid configuration\n {2}- cannot read the file \(ENOENT\)/ },
];

/** Every file and folder under dir: path, size, mtime. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const s = statSync(p);
      out.push(`${p} ${s.size} ${s.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** What the server holds: workflow executions (ids, to name a stray one) and schedules. */
async function serverState() {
  const workflows: string[] = [];
  for await (const w of stack.client.workflow.list({ query: '' })) workflows.push(w.workflowId);
  const schedules: string[] = [];
  for await (const s of stack.client.schedule.list()) schedules.push(s.scheduleId);
  return { count: (await stack.client.workflow.count()).count, workflows: workflows.sort(), schedules: schedules.sort() };
}

/** What the lab has been asked to do: configuration writes, backups, jobs, logins, redeploys, tokens, messages. */
function labActivity() {
  const l = stack.lab;
  return {
    nsxConfigWrites: l.nsx.configWrites(),
    nsxBackups: l.nsx.backupsStarted(),
    vcenterJobs: l.vcenter.jobCount(),
    vcenterLogins: l.vcenter.loginCount(),
    sandboxJobs: l.sandbox.vcenter.jobCount(),
    sandboxNsxWrites: l.sandbox.nsx.configWrites(),
    redeploys: l.sandbox.redeploys(),
    ibmTokens: l.ibm?.tokensIssued(),
    webhookMessages: l.receiver?.messages().length,
  };
}

/** The SFTP server's backups folder (every site's target) and the lab's own folder (config, secrets, keys). */
const onDisk = () => ({ targets: tree(join(stack.lab.targetOnDisk, '..')), lab: tree(stack.lab.dir) });

let baseline: { server: Awaited<ReturnType<typeof serverState>>; disk: ReturnType<typeof onDisk>; lab: ReturnType<typeof labActivity> };

beforeAll(async () => {
  stack = await startStack(SITE);
  configDir = mkdtempSync(join(tmpdir(), 'sddc-bad-input-'));
  baseline = { server: await serverState(), disk: onDisk(), lab: labActivity() };
});
afterAll(async () => stack?.stop());

/** A few CLI processes at a time: the machine is shared. */
const LIMIT = 4;
let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(fn: () => Promise<T>): Promise<T> {
  while (running >= LIMIT) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function argsOf(c: Case, i: number): string[] {
  if (c.bare) return c.args.map((a) => (a === '@lab-config' ? stack.lab.configPath : a));
  let config = stack.lab.configPath;
  if (c.config || c.rawConfig !== undefined) {
    config = join(configDir, `case-${i}.yaml`);
    let text = c.rawConfig;
    if (text === undefined) {
      const doc = parse(readFileSync(stack.lab.configPath, 'utf8')) as Doc;
      c.config!(doc);
      text = stringify(doc, { lineWidth: 0 });
    }
    writeFileSync(config, text);
  }
  return [...c.args, '--config', config, ...(c.noTemporal ? [] : ['--address', stack.server.address])];
}

describe('bad input: exit 2, a message naming what to fix, nothing started or written', () => {
  it('has at least 40 distinct inputs', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.concurrent.each(CASES.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const r = await slot(() => cli(argsOf(c, i)));
    expect(r.code, r.stderr.slice(0, 2000)).toBe(2);
    expect(r.stderr).toMatch(c.says);
    expect(r.stderr, 'no stack trace').not.toMatch(/^ {4}at /m);
    expect(r.stderr.length, 'an oversized value is not echoed back whole').toBeLessThan(4096);
    if (c.never) expect(r.stderr + r.stdout).not.toContain(c.never);
    expect(await serverState(), 'nothing started or scheduled on the server').toEqual(baseline.server);
    expect(onDisk(), 'nothing written to the SFTP target or the lab').toEqual(baseline.disk);
    expect(labActivity(), 'nothing asked of the lab').toEqual(baseline.lab);
  });
});

describe('after the whole table', () => {
  it('still nothing on the server, the target or the lab (a late start would show here)', async () => {
    await new Promise((r) => setTimeout(r, 1000));
    expect(await serverState()).toEqual(baseline.server);
    expect(onDisk()).toEqual(baseline.disk);
    expect(labActivity()).toEqual(baseline.lab);
  });
});
