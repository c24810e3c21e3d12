#!/usr/bin/env node
// `npm run bench:fleet` (root: a real OpenSSH sshd serves the targets): backs up 1, 10, 50 and 200
// sites at once on one worker and on three worker processes, the same 200 one after another, and a
// case where the worker is the bottleneck (each worker's activity starts per second limited) on one and on three
// workers. Each site has its own vCenter appliance simulator and target directory; the first 2 sites
// of every 10 (--shared EVERY:SIZE) share an NSX Manager, whose backups then queue on the endpoint lock. After each run
// every site's target is checked: one complete, verified set for each run, its files on disk with the
// recorded sizes and SHA-256, no product backup folder outside a manifest or in two, and the simulators
// started exactly one backup per run. Writes the "Fleet" section of bench/RESULTS.md (between markers,
// the rest of the file kept) and prints it. Exit 1 when a goal is missed.
//
// Options: --sites 200 --levels 1,10,50,200 --workers 1,3 --sequential all|N (N: measure N runs one
// after another and extrapolate to --sites; default 4) --nsx-job-ms 20000 --vcenter-job-ms 30000
// --poll-interval 5s --shared 10:2 --max-startups 1000:30:2000 --bottleneck-sites 40
// --bottleneck-rate 2 (0: skip) --bottleneck-sites 24 --activity-slots 500 --cached-workflows N --worker-heap-mb 256
// --malloc-arenas 2 (0: glibc's default); FLEET_WORKER_NODE_ARGS='--cpu-prof …' passes node flags to the workers
// --phase-timeout-s 600 --no-write
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import { ensureTemporalCli } from '../dist/src/temporal/cli-provision.js';
import { startDevServer } from '../dist/src/temporal/dev-server.js';
import { freePort } from '../dist/src/lab/sftp-server.js';
import { loadConfig } from '../dist/src/config/load.js';
import { startCoordinatedBackup } from '../dist/src/temporal/backup-runs.js';
import { backupInput } from '../dist/src/temporal/inputs.js';
import { clientDataConverter, payloadCodecFor } from '../dist/src/temporal/data-converter.js';
import { load, machineFacts } from './lib/machine.mjs';
import { cpuSeconds, peakRssMiB, resetPeak, rssMiB } from './lib/proc.mjs';
import { fmtMs, median } from './lib/timing.mjs';

const { values: opt } = parseArgs({
  options: {
    sites: { type: 'string', default: '200' },
    levels: { type: 'string', default: '1,10,50,200' },
    workers: { type: 'string', default: '1,3' },
    sequential: { type: 'string', default: '4' },
    'nsx-job-ms': { type: 'string', default: '20000' },
    'vcenter-job-ms': { type: 'string', default: '30000' },
    'poll-interval': { type: 'string', default: '5s' },
    'max-startups': { type: 'string', default: '1000:30:2000' },
    'bottleneck-sites': { type: 'string', default: '24' },
    'bottleneck-rate': { type: 'string', default: '2' },
    'activity-slots': { type: 'string', default: '500' },
    'cached-workflows': { type: 'string', default: '' },
    'worker-heap-mb': { type: 'string', default: '256' },
    'malloc-arenas': { type: 'string', default: '2' },
    'phase-timeout-s': { type: 'string', default: '600' },
    shared: { type: 'string', default: '10:2' },
    'no-write': { type: 'boolean', default: false },
  },
});
const SITES = Number(opt.sites);
const LEVELS = opt.levels.split(',').map(Number).filter((n) => n > 0 && n <= SITES);
const WORKER_COUNTS = opt.workers.split(',').map(Number).filter((n) => n > 0);
const SEQ = opt.sequential === 'all' ? SITES : Math.min(Number(opt.sequential), SITES);
const NSX_JOB_MS = Number(opt['nsx-job-ms']);
const VC_JOB_MS = Number(opt['vcenter-job-ms']);
const BOTTLENECK_SITES = Math.min(Number(opt['bottleneck-sites']), SITES);
/** Activities per second each worker may start in the worker-bound case (--max-activities-per-second). */
const BOTTLENECK_RATE = Number(opt['bottleneck-rate']);
/** The main phases' workers: enough activity slots that every backup at once can wait on its two jobs (0: the worker's default). */
const ACTIVITY_SLOTS = Number(opt['activity-slots']);
const CACHED = opt['cached-workflows'] ? Number(opt['cached-workflows']) : 0;
/** V8 heap cap of each worker (0: node's default, which lets garbage grow towards GiBs on a large machine before collecting it). */
const WORKER_HEAP_MB = Number(opt['worker-heap-mb']);
/** glibc's MALLOC_ARENA_MAX for the workers, as the systemd unit and the image set it (0: glibc's default, 8 per core). */
const MALLOC_ARENAS = Number(opt['malloc-arenas']);
/** Extra node flags for the workers, e.g. FLEET_WORKER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' (node refuses --cpu-prof in NODE_OPTIONS). */
const WORKER_NODE_ARGS = (process.env.FLEET_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const PHASE_TIMEOUT_MS = Number(opt['phase-timeout-s']) * 1000;
const [sharedEvery, sharedSize] = opt.shared.split(':').map(Number);
const SHARED = { every: sharedEvery, size: sharedSize };

const resultsFile = new URL('./RESULTS.md', import.meta.url);
const CLI = new URL('../dist/src/cli/main.js', import.meta.url).pathname;
const log = (...a) => console.error(...a);
const MARK_BEGIN = '<!-- fleet:begin (written by `npm run bench:fleet`; `npm run bench` keeps it) -->';
const MARK_END = '<!-- fleet:end -->';

if (process.getuid?.() !== 0) {
  log('bench:fleet runs the lab\'s OpenSSH sshd, which logs in a system user with a password: run it as root');
  process.exit(2);
}

const startedAt = new Date();
const loadBefore = load();
const t0All = performance.now();
const workDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'sddc-ops-fleet-'));
chmodSync(workDir, 0o755);
const children = new Set();
let server;
let labChild;
const cleanUp = async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  await Promise.all([...children].map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
  await server?.stop().catch(() => undefined);
  rmSync(workDir, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, async () => {
    log(`\n${sig}: stopping the fleet (workers, lab, sshd, Temporal)`);
    await cleanUp();
    process.exit(130);
  });
}

/** A child process we own: killed on the way out. */
function own(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

const lines = (stream) => {
  const rl = createInterface({ input: stream });
  const queue = [];
  const waiting = [];
  rl.on('line', (l) => (waiting.length ? waiting.shift()(l) : queue.push(l)));
  return () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiting.push(r)));
};

// ---- the stack ---------------------------------------------------------------------------------
const phases = [];
let sequential;
let bottleneck = [];
let lab;
let facts;
try {
  const cli = await ensureTemporalCli({ onProgress: () => undefined });
  server = await startDevServer({ cliPath: cli.path, dataDir: join(workDir, 'temporal'), ip: '127.0.0.1', port: await freePort(), headless: true });
  log(`Temporal dev server ${server.address} (pid ${server.pid}, SQLite in ${workDir}/temporal)`);

  const labT0 = performance.now();
  labChild = own(
    spawn(process.execPath, [new URL('./lib/fleet-lab-child.mjs', import.meta.url).pathname, JSON.stringify({ dir: join(workDir, 'lab'), sites: SITES, shared: SHARED, sftp: 'sshd', maxStartups: opt['max-startups'], nsxJobMs: NSX_JOB_MS, vcenterJobMs: VC_JOB_MS, pollInterval: opt['poll-interval'], temporal: { address: server.address } })], {
      stdio: ['pipe', 'pipe', 'inherit'],
    }),
  );
  const labLine = lines(labChild.stdout);
  const labExited = new Promise((_, reject) => labChild.once('exit', (code) => reject(new Error(`the fleet lab exited (${code})`))));
  labExited.catch(() => undefined);
  lab = JSON.parse(await Promise.race([labLine(), labExited]));
  lab.pid = labChild.pid;
  const nsxCount = new Set(lab.sites.map((s) => s.nsxIndex)).size;
  log(`fleet lab: ${lab.sites.length} sites, ${nsxCount} NSX Managers, ${lab.sites.length} vCenter appliances, sshd pid ${lab.sshdPid} on ${lab.sftp.port} (${fmtMs(performance.now() - labT0)})`);
  const counts = async () => {
    labChild.stdin.write('counts\n');
    return JSON.parse(await Promise.race([labLine(), labExited]));
  };

  const { config } = loadConfig(lab.configPath);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'default', dataConverter: clientDataConverter(await payloadCodecFor(config.temporal.encryption)) });

  /** Worker processes: the real CLI (`sddc-ops worker --config …`). Resolves when each polls. */
  async function startWorkers(n, { slots, rate } = {}) {
    const ws = [];
    for (let i = 0; i < n; i++) {
      const args = [CLI, 'worker', '--config', lab.configPath, '--address', server.address, ...(slots ? ['--max-concurrent-activities', String(slots)] : []), ...(rate ? ['--max-activities-per-second', String(rate)] : []), ...(CACHED ? ['--max-cached-workflows', String(CACHED)] : [])];
      const child = own(spawn(process.execPath, [...WORKER_NODE_ARGS, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TEMPORAL_ADDRESS: '', ...(WORKER_HEAP_MB ? { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=${WORKER_HEAP_MB}`.trim() } : {}), ...(MALLOC_ARENAS ? { MALLOC_ARENA_MAX: String(MALLOC_ARENAS) } : {}) } }));
      let tail = '';
      const ready = new Promise((resolve, reject) => {
        child.stderr.on('data', (d) => {
          tail = (tail + d).slice(-4000);
          if (/worker polling task queue/.test(tail)) resolve();
        });
        child.once('exit', (code) => reject(new Error(`worker exited (${code}) before polling: ${tail}`)));
      });
      ws.push({ child, pid: child.pid, ready, tail: () => tail });
    }
    const t = performance.now();
    await Promise.all(ws.map((w) => w.ready));
    for (const w of ws) w.startupPeakMiB = peakRssMiB(w.pid);
    log(`  ${n} worker(s) polling${slots ? ` (--max-concurrent-activities ${slots})` : ''} after ${fmtMs(performance.now() - t)}; start-up peak RSS ${ws.map((w) => w.startupPeakMiB.toFixed(0)).join(', ')} MiB`);
    return ws;
  }
  async function stopWorkers(ws) {
    await Promise.all(
      ws.map((w) => {
        if (w.child.exitCode !== null) return undefined;
        const exited = new Promise((r) => w.child.once('exit', r));
        w.child.kill('SIGTERM');
        return exited;
      }),
    );
  }

  /** Starts `sites` together (or one after another), waits for each, then checks targets and simulators. */
  async function phase(label, ws, sites, { oneByOne = false } = {}) {
    const before = await counts();
    const cpu0 = { server: cpuSeconds(server.pid, { tree: true }), sshd: cpuSeconds(lab.sshdPid, { tree: true }), lab: cpuSeconds(lab.pid), workers: ws.map((w) => cpuSeconds(w.pid)) };
    const hwmReset = ws.map((w) => resetPeak(w.pid));
    let sampledPeak = ws.map((w) => rssMiB(w.pid));
    const sampler = setInterval(() => (sampledPeak = ws.map((w, i) => Math.max(sampledPeak[i], rssMiB(w.pid)))), 200);
    const loadAt = load();
    const runs = [];
    const t0 = performance.now();
    const deadline = t0 + PHASE_TIMEOUT_MS;
    const one = async (s) => {
      const r = { site: s.site, started: performance.now() - t0 };
      try {
        const handle = await startCoordinatedBackup(client, { input: backupInput(s.site), taskQueue: config.temporal.taskQueue, config: config.sites[s.site] });
        r.runId = handle.firstExecutionRunId;
        r.workflowId = handle.workflowId;
        let timer;
        const result = await Promise.race([handle.result(), new Promise((_, reject) => (timer = setTimeout(() => reject(Object.assign(new Error('phase timeout'), { timeout: true })), Math.max(deadline - performance.now(), 1))))]).finally(() => clearTimeout(timer));
        r.status = result.status;
        r.setId = result.setId;
      } catch (err) {
        r.status = err.timeout ? 'timed out' : err instanceof WorkflowFailedError ? 'failed' : 'error';
        r.error = (err.cause?.message ?? err.message).slice(0, 300);
        if (err.timeout && r.workflowId) await client.workflow.getHandle(r.workflowId, r.runId).terminate('bench:fleet phase timeout').catch(() => undefined);
      }
      r.ended = performance.now() - t0;
      runs.push(r);
      return r;
    };
    if (oneByOne) for (const s of sites) await one(s);
    else await Promise.all(sites.map(one));
    const wallMs = performance.now() - t0;
    clearInterval(sampler);
    const cpu1 = { server: cpuSeconds(server.pid, { tree: true }), sshd: cpuSeconds(lab.sshdPid, { tree: true }), lab: cpuSeconds(lab.pid), workers: ws.map((w) => cpuSeconds(w.pid)) };
    const peaks = ws.map((w, i) => Math.max(hwmReset[i] ? peakRssMiB(w.pid) : 0, sampledPeak[i]));
    const after = await counts();
    const check = checkTargets(sites, runs, before, after);
    const durations = runs.map((r) => r.ended - r.started);
    const p = {
      label,
      workers: ws.length,
      rate: ws.rate,
      sites: sites.length,
      oneByOne,
      wallMs,
      perSiteMs: wallMs / sites.length,
      medianRunMs: median(durations),
      maxRunMs: Math.max(...durations),
      outcomes: tally(runs.map((r) => r.status)),
      errors: runs.filter((r) => r.error).map((r) => `${r.site}: ${r.error}`),
      check,
      peakRssMiB: peaks,
      hwmReset: hwmReset.every(Boolean),
      cpu: { server: cpu1.server - cpu0.server, sshd: cpu1.sshd - cpu0.sshd, lab: cpu1.lab - cpu0.lab, workers: cpu1.workers.reduce((n, c, i) => n + c - cpu0.workers[i], 0) },
      load: { before: loadAt, after: load() },
    };
    log(
      `  [${label}] ${sites.length} site(s)${oneByOne ? ' one after another' : ' at once'} on ${ws.length} worker(s): ${fmtMs(wallMs)} (${fmtMs(p.perSiteMs)}/site; run median ${fmtMs(p.medianRunMs)}), ` +
        `${fmtOutcomes(p.outcomes)}; check ${check.ok ? 'ok' : 'FAILED: ' + check.problems.slice(0, 5).join('; ')}; peak RSS ${peaks.map((x) => x.toFixed(0)).join('/')} MiB; ` +
        `CPU s server ${p.cpu.server.toFixed(1)}, sshd ${p.cpu.sshd.toFixed(1)}, lab ${p.cpu.lab.toFixed(1)}, workers ${p.cpu.workers.toFixed(1)}; load ${p.load.after}`,
    );
    for (const e of p.errors.slice(0, 5)) log(`    ${e}`);
    return p;
  }

  /**
   * The target and the simulators after a phase: each run left exactly one set (found by its run id),
   * complete and verified, every file it lists on disk with the recorded size and SHA-256; every NSX
   * and vCenter backup folder under each site's target belongs to exactly one manifest; the
   * simulators started exactly one backup per run (per vCenter; per NSX Manager, one per site using it).
   */
  function checkTargets(sites, runs, before, after) {
    const problems = [];
    let sets = 0;
    let files = 0;
    let bytes = 0;
    for (const s of sites) {
      const run = runs.find((r) => r.site === s.site);
      const dir = s.targetOnDisk;
      const manifests = [];
      const setsDir = join(dir, 'sets');
      for (const id of existsSync(setsDir) ? readdirSync(setsDir) : []) {
        const f = join(setsDir, id, 'backup-set.json');
        if (!existsSync(f)) {
          problems.push(`${s.site}: ${id} has no manifest`);
          continue;
        }
        manifests.push(JSON.parse(readFileSync(f, 'utf8')));
      }
      const mine = manifests.filter((m) => m.workflow?.runId === run?.runId);
      if (mine.length !== 1) problems.push(`${s.site}: ${mine.length} sets of run ${run?.runId}`);
      for (const m of mine) {
        if (m.status !== 'complete' || !m.verifiedAt) problems.push(`${s.site}: set ${m.setId} is ${m.status}${m.verifiedAt ? '' : ', not verified'}`);
        if (!m.nsx?.files?.length || !m.vcenter?.files?.length) problems.push(`${s.site}: set ${m.setId} lacks NSX or vCenter files`);
        for (const f of [...(m.nsx?.files ?? []), ...(m.vcenter?.files ?? [])]) {
          const path = isAbsolute(f.path) ? f.path : join(dir, f.path);
          if (!existsSync(path)) {
            problems.push(`${s.site}: ${f.path} is missing`);
            continue;
          }
          const data = readFileSync(path);
          if (data.length !== f.size || createHash('sha256').update(data).digest('hex') !== f.sha256) problems.push(`${s.site}: ${f.path} differs from its manifest`);
          files++;
          bytes += data.length;
        }
        sets++;
      }
      // Every product backup folder on the target belongs to exactly one manifest (no duplicate, no orphan).
      const owners = new Map();
      for (const m of manifests) for (const f of [...(m.nsx?.folders ?? []), ...(m.vcenter?.folders ?? [])]) owners.set(f, (owners.get(f) ?? 0) + 1);
      for (const folder of productFolders(dir)) {
        const n = owners.get(folder) ?? 0;
        if (n !== 1) problems.push(`${s.site}: ${folder} is in ${n} manifests`);
      }
      const vcIndex = lab.sites.findIndex((x) => x.site === s.site);
      const vcDelta = after.vcenter[vcIndex] - before.vcenter[vcIndex];
      if (vcDelta !== 1) problems.push(`${s.site}: its vCenter ran ${vcDelta} backup jobs`);
    }
    const perNsx = new Map();
    for (const s of sites) perNsx.set(s.nsxIndex, (perNsx.get(s.nsxIndex) ?? 0) + 1);
    for (const [i, n] of perNsx) {
      const d = after.nsx[i] - before.nsx[i];
      if (d !== n) problems.push(`NSX Manager #${i}: ${d} backups started for ${n} site run(s)`);
    }
    const unrelated = after.nsx.reduce((n, c, i) => n + (perNsx.has(i) ? 0 : c - before.nsx[i]), 0);
    if (unrelated) problems.push(`${unrelated} NSX backups started on managers no run of this phase uses`);
    return { ok: problems.length === 0, problems, sets, files, bytes };
  }

  /** nsx/cluster-node-backups/<node>/backup-…UTC and vcenter/vCenter/sn_<fqdn>/M_… folders, relative to the target. */
  function productFolders(dir) {
    const out = [];
    const sub = (rel) => {
      const p = join(dir, rel);
      return existsSync(p) ? readdirSync(p).filter((n) => statSync(join(p, n)).isDirectory()) : [];
    };
    for (const node of sub('nsx/cluster-node-backups')) for (const b of sub(`nsx/cluster-node-backups/${node}`)) out.push(`nsx/cluster-node-backups/${node}/${b}`);
    for (const sn of sub('vcenter/vCenter')) for (const m of sub(`vcenter/vCenter/${sn}`)) out.push(`vcenter/vCenter/${sn}/${m}`);
    return out;
  }

  // ---- the runs ----------------------------------------------------------------------------------
  for (const n of WORKER_COUNTS) {
    log(`\n== ${n} worker process(es), --max-concurrent-activities ${ACTIVITY_SLOTS || 'default'} ==`);
    const ws = await startWorkers(n, { slots: ACTIVITY_SLOTS || undefined });
    for (const level of LEVELS) phases.push({ ...(await phase(`${level}@${n}w`, ws, lab.sites.slice(0, level))), startupPeakMiB: ws.map((w) => w.startupPeakMiB) });
    if (n === 1 && SEQ > 0) {
      log(`  the same ${SEQ} site(s) one after another …`);
      sequential = await phase(`seq@${n}w`, ws, lab.sites.slice(0, SEQ), { oneByOne: true });
    }
    await stopWorkers(ws);
  }
  const nsxUsers = new Map();
  for (const x of lab.sites) nsxUsers.set(x.nsxIndex, (nsxUsers.get(x.nsxIndex) ?? 0) + 1);
  const ownNsxSites = lab.sites.filter((x) => nsxUsers.get(x.nsxIndex) === 1);
  if (BOTTLENECK_RATE > 0 && BOTTLENECK_SITES > 0) {
    for (const n of [1, 3]) {
      log(`\n== worker as the bottleneck: ${n} worker(s), --max-activities-per-second ${BOTTLENECK_RATE} each ==`);
      const ws = await startWorkers(n, { slots: ACTIVITY_SLOTS || undefined, rate: BOTTLENECK_RATE });
      ws.rate = BOTTLENECK_RATE;
      // Sites with an NSX Manager of their own: no queue on a shared one, only the workers' rate limits them.
      bottleneck.push(await phase(`rate${BOTTLENECK_RATE}@${n}w`, ws, ownNsxSites.slice(0, BOTTLENECK_SITES)));
      await stopWorkers(ws);
    }
  }
  await connection.close();
} finally {
  facts = machineFacts();
  if (labChild && labChild.exitCode === null) {
    const exited = new Promise((r) => labChild.once('exit', r));
    labChild.kill('SIGTERM');
    await exited;
  }
  await cleanUp();
}

// ---- the report ------------------------------------------------------------------------------------
function tally(xs) {
  const t = {};
  for (const x of xs) t[x] = (t[x] ?? 0) + 1;
  return t;
}
function fmtOutcomes(t) {
  return Object.entries(t).map(([k, v]) => `${v} ${k}`).join(', ');
}
const s1 = (x) => x.toFixed(1);
const at = (level, workers) => phases.find((p) => p.sites === level && p.workers === workers);
const top = Math.max(...LEVELS);
const one200 = at(top, 1);
const three200 = at(top, 3);
const seqTotalMs = sequential ? (sequential.wallMs / sequential.sites) * top : NaN;
const seqExtrapolated = sequential && sequential.sites !== top;
const allPhases = [...phases, ...(sequential ? [sequential] : []), ...bottleneck];
const goals = [];
if (one200 && sequential) {
  const r = seqTotalMs / one200.wallMs;
  goals.push({ goal: `${top} sites at once ≥ 20× faster than one after another (1 worker)`, value: `${fmtMs(seqTotalMs)}${seqExtrapolated ? ` (extrapolated from ${sequential.sites})` : ''} / ${fmtMs(one200.wallMs)} = ${r.toFixed(1)}×`, pass: r >= 20 });
  if (three200) goals.push({ goal: `(for reference) the same on 3 workers`, value: `${fmtMs(seqTotalMs)} / ${fmtMs(three200.wallMs)} = ${(seqTotalMs / three200.wallMs).toFixed(1)}×`, pass: null });
}
if (bottleneck.length === 2) {
  const r = bottleneck[0].wallMs / bottleneck[1].wallMs;
  goals.push({ goal: `3 workers ≥ 1.8× 1 worker when the worker is the bottleneck (${BOTTLENECK_SITES} sites, each worker starting ≤ ${BOTTLENECK_RATE} activities/s)`, value: `${fmtMs(bottleneck[0].wallMs)} / ${fmtMs(bottleneck[1].wallMs)} = ${r.toFixed(2)}×`, pass: r >= 1.8 });
}
if (one200 && three200) goals.push({ goal: `(for reference) 3 workers vs 1 at ${top} sites, main settings`, value: `${fmtMs(one200.wallMs)} / ${fmtMs(three200.wallMs)} = ${(one200.wallMs / three200.wallMs).toFixed(2)}×`, pass: null });
const lostOrDup = allPhases.filter((p) => !p.check.ok || Object.keys(p.outcomes).some((k) => k !== 'complete'));
goals.push({ goal: 'no lost or duplicated backup (every run: one complete, verified set; one product backup each)', value: `${allPhases.reduce((n, p) => n + p.sites, 0)} runs in ${allPhases.length} phases; ${lostOrDup.length ? `problems in ${lostOrDup.map((p) => p.label).join(', ')}` : 'all checked'}`, pass: lostOrDup.length === 0 });
if (one200) goals.push({ goal: `worker RSS ≤ 400 MB at ${top} sites (one worker)`, value: `peak ${one200.peakRssMiB[0].toFixed(0)} MiB (${(one200.peakRssMiB[0] * 1.048576).toFixed(0)} MB) during the run (start-up: ${one200.startupPeakMiB[0].toFixed(0)} MiB)`, pass: one200.peakRssMiB[0] <= 400 / 1.048576 });

const row = (p) =>
  `| ${p.label} | ${p.sites} | ${p.workers}${p.rate ? ` × ≤ ${p.rate} activities/s` : ''} | ${p.oneByOne ? 'one after another' : 'at once'} | ${fmtMs(p.wallMs)} | ${fmtMs(p.perSiteMs)} | ${fmtMs(p.medianRunMs)} / ${fmtMs(p.maxRunMs)} | ${fmtOutcomes(p.outcomes)} | ${p.check.ok ? `ok (${p.check.sets} sets, ${p.check.files} files)` : `**${p.check.problems.length} problems**`} | ${p.peakRssMiB.map((x) => x.toFixed(0)).join(' / ')} | ${s1(p.cpu.workers)} | ${s1(p.cpu.server)} | ${s1(p.cpu.sshd)} | ${s1(p.cpu.lab)} | ${p.load.before.split(' ')[0]} → ${p.load.after.split(' ')[0]} |`;
const table = [
  '| run | sites | workers | how | wall | time per site (wall ÷ sites) | run median / max | outcomes | target check | worker peak RSS (MiB) | worker CPU s | Temporal server CPU s | sshd CPU s | lab CPU s | load 1-min |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...allPhases.map(row),
].join('\n');
const goalTable = ['| goal | measured | result |', '|---|---|---|', ...goals.map((g) => `| ${g.goal} | ${g.value} | ${g.pass === null ? '—' : g.pass ? 'PASS' : '**FAIL**'} |`)].join('\n');

// One worker's limits, from the runs above.
const limits = [];
for (const p of phases.filter((x) => x.workers === 1)) {
  const sitesPerMin = (p.sites / p.wallMs) * 60_000;
  limits.push(`${p.sites} at once: ${sitesPerMin.toFixed(0)} sites/min, ${(p.cpu.workers / p.sites).toFixed(2)} worker CPU s and ${((p.cpu.server) / p.sites).toFixed(2)} server CPU s per backup, peak RSS ${p.peakRssMiB[0].toFixed(0)} MiB`);
}
// A failed run's set is expected to be failed and empty: those two lines per failed run are counted, every other problem is listed.
const expected = (x) => / is failed, not verified$| lacks NSX or vCenter files$/.test(x);
const problemLines = allPhases.flatMap((p) => [
  ...(p.check.problems.some(expected) ? [`${p.label}: ${p.check.problems.filter(expected).length} lines say a failed run's set is failed and holds no verified files`] : []),
  ...p.check.problems.filter((x) => !expected(x)).map((x) => `${p.label}: **${x}**`),
  ...p.errors.slice(0, 10).map((x) => `${p.label}: ${x}`),
  ...(p.errors.length > 10 ? [`${p.label}: … ${p.errors.length - 10} more failed runs`] : []),
]);

const section = `${MARK_BEGIN}
## Fleet

Run ${startedAt.toISOString()} by \`npm run bench:fleet\`, ${fmtMs(performance.now() - t0All)} in all, on this machine (${facts.cpu}, ${facts.memory}; load average before ${loadBefore}, after ${load()}; commit ${facts.commit}).

${goalTable}

${table}

**Setup.** One Temporal dev server (SQLite, headless); one lab process with ${SITES} sites — each its own vCenter appliance simulator (HTTPS) and target directory; sites 1–${SHARED.size} of every ${SHARED.every} share one NSX Manager (one backup at a time: their runs queue on the endpoint lock), the others have their own (${new Set(lab?.sites.map((s) => s.nsxIndex)).size} NSX Manager simulators); one real OpenSSH sshd (password login of the lab user, internal-sftp) as the SFTP target of every site — the products upload to it and the workers verify over it. Workers are separate processes running the real CLI, \`sddc-ops worker --config … --address …\` (${ACTIVITY_SLOTS ? `\`--max-concurrent-activities ${ACTIVITY_SLOTS}\`, so that every backup at once can wait on its two product jobs` : 'the default 100 activity slots'}; ${CACHED ? `\`--max-cached-workflows ${CACHED}\`` : 'the default of 100 cached workflows'}${WORKER_HEAP_MB ? `; \`NODE_OPTIONS=--max-old-space-size=${WORKER_HEAP_MB}\`` : ''}${MALLOC_ARENAS ? `; \`MALLOC_ARENA_MAX=${MALLOC_ARENAS}\`` : ''}, as the systemd unit and the image run them); the bench process starts the runs through the Temporal client, as \`backup run\` does, and waits for each. Lab settings: NSX backup job ${NSX_JOB_MS / 1000} s, vCenter backup job ${VC_JOB_MS / 1000} s, \`backup.pollInterval\` ${opt['poll-interval']}, payload encryption on; no IKS, no retention; the target sshd with \`MaxStartups ${opt['max-startups']}\`. Sites of a run of *n* are fleet-001 … fleet-*n* (so ${SHARED.every} and more include a queue of ${SHARED.size} on one NSX Manager).

**Measured how.** Wall: from the first start request to the last result. Time per site: wall ÷ sites; run median / max: each run from its start request to its result. Worker peak RSS: the kernel's VmHWM of each worker process, reset (\`/proc/PID/clear_refs\`) at the start of each run and read at its end${allPhases.every((p) => p.hwmReset) ? '' : ' (where the reset failed: RSS sampled every 200 ms)'}; start-up peaks (loading the prebuilt workflow bundle, or bundling it when there is none) are reported apart. CPU: utime+stime from /proc of the Temporal server, of sshd with every child it forked (one per connection: reaped ones through cutime/cstime, live ones directly), of the lab process and of the workers, over the run. Sequential: the same ${sequential?.sites ?? 0} sites on the one worker, each started when the previous one's result came${seqExtrapolated ? `; **the ${top}-site total is extrapolated** (${sequential.sites} measured × ${top}/${sequential.sites})` : ' (measured, not extrapolated)'}. Worker as the bottleneck: ${BOTTLENECK_SITES} sites with an NSX Manager of their own (no queue) at once, on workers started with \`--max-activities-per-second ${BOTTLENECK_RATE}\`: a backup runs about 19 activities, so each worker can carry about ${(BOTTLENECK_RATE * 60 / 19).toFixed(1)} backups a minute while the 2 cores have room to spare; three such workers have three times the capacity. (Limiting activity *slots* does not make the worker the limit: the product jobs run on the appliances whether or not a slot is free to wait on them.)

**Checked after every run.** Each run's result is \`complete\`; on the target of each site exactly one set carries the run's id, \`complete\` and verified, and every file it lists is on disk with the recorded size and SHA-256; every NSX and vCenter backup folder under the target belongs to exactly one manifest (no duplicate product backup, no orphan); each site's vCenter simulator ran exactly one backup job and each NSX Manager exactly one per site of the run using it.

**One worker's limits** (from the one-worker runs): ${limits.join('; ')}.
${problemLines.length ? `\n**Problems seen:**\n${problemLines.map((x) => `- ${x}`).join('\n')}\n` : ''}${MARK_END}`;

console.log(section);
if (!opt['no-write']) {
  const old = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '# sddc-ops benchmark results\n';
  const b = old.indexOf(MARK_BEGIN.slice(0, 18));
  const e = old.indexOf(MARK_END);
  const next = b >= 0 && e > b ? old.slice(0, b) + section + old.slice(e + MARK_END.length) : `${old.replace(/\s*$/, '')}\n\n${section}\n`;
  writeFileSync(resultsFile, next);
  log(`\nwrote the Fleet section of ${resultsFile.pathname}`);
}
process.exit(goals.every((g) => g.pass !== false) && phases.length ? 0 : 1);
