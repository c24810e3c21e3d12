import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { startDevServer } from '../../src/temporal/dev-server.js';
import { freePort } from '../../src/lab/sftp-server.js';
import { loadConfig } from '../../src/config/load.js';
import { filesOf } from '../../src/catalog/catalog.js';
import { scaleOutInventory } from '../../activities/scale-out/hosts.js';
import { iamFor } from '../../activities/endpoints.js';
import { IksClient } from '../../src/providers/ibm/iks.js';
import { VmwareSolutionsClient } from '../../src/providers/ibm/vmware-solutions.js';
import { approveUpdate, scaleOutProgressQuery } from '../../workflows/scale-out/common.js';
import type { AddHostsInput } from '../../workflows/scale-out/add-hosts.js';
import type { AddClusterInput } from '../../workflows/scale-out/add-cluster.js';
import type { ExpandIksInput } from '../../workflows/scale-out/expand-iks.js';
import type { RollbackReport } from '../../src/domain/saga.js';
import { startTestLab, editLabConfig, labFetch, setFaults, type TestLab } from '../fixtures/lab.js';
import { testDataConverter } from '../fixtures/codec.js';
import { manifestsOnDisk } from '../fixtures/manifest.js';
import { runActivity } from '../fixtures/activity.js';
import { cli } from '../fixtures/stack.js';
import { until } from '../fixtures/wait.js';
import { chaosSchedule, WorkerProcesses, type ChaosEvent } from './driver.js';

/**
 * The chaos suite (npm run test:chaos): a batch of coordinated backups, scale-outs on the vCenter
 * and IBM paths (some made to roll back) and a restore drill runs on two worker processes while a
 * driver SIGKILLs them at random points and restarts the Temporal dev server (SQLite) once. Then
 * everything is checked from the lab's own state and the SFTP target. CHAOS_SEED=<n> replays a
 * schedule of kills.
 */
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const KILLS = Number(process.env.CHAOS_KILLS ?? 16);
const WORKERS = 2;
const SITE = 'chaos';
const SHARED = 'chaos-b'; // served by the same NSX Manager: its backups queue behind SITE's
process.env.SDDC_TEST_ESXI_PASSWORD = 'lab-esxi-password';
const PERCENT_POLICY = { enabled: true, admissionControlEnabled: true, failoverLevel: 1, policy: { kind: 'resources' as const, cpuPercent: 34, memoryPercent: 34, failoverLevel: 1, autoCompute: false } };

let lab: TestLab;
let dataDir: string;
let port: number;
let server: Awaited<ReturnType<typeof startDevServer>>;
let connection: Connection;
let client: Client;
let workers: WorkerProcesses;
let taskQueue: string;
const logDir = mkdtempSync(join(tmpdir(), 'sddc-chaos-logs-'));

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sddc-chaos-'));
  port = await freePort();
  [server, lab] = await Promise.all([startDevServer({ cliPath: inject('temporalCli'), dataDir, port, headless: true }), startTestLab({ site: SITE, sharedNsxSites: [SHARED] })]);
  if (!lab.vsphere || !lab.vmwareSolutions) throw new Error('the chaos suite needs the lab vSphere SOAP peer (Go) and the IBM simulators');
  taskQueue = loadConfig(lab.configPath).config.temporal.taskQueue;
  // Product jobs long enough for kills to land inside them; IBM orders and IKS workers quick.
  await setFaults(lab.nsx.url, { jobDurationMs: 1500 });
  await setFaults(lab.vcenter.url, { jobDurationMs: 2500 });
  lab.vmwareSolutions.setFaults({ orderMs: 1500 });
  await setFaults(ibm().iksUrl, { workerMs: 1500 });
  await runActivity((await import('../../activities/index.js')).setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha: PERCENT_POLICY });
  connection = await Connection.connect({ address: server.address });
  client = new Client({ connection, dataConverter: await testDataConverter() });
  mkdirSync(logDir, { recursive: true });
  workers = new WorkerProcesses({ count: WORKERS, configPath: lab.configPath, address: server.address, logDir });
  await workers.startAll();
}, 300_000);

afterAll(async () => {
  await workers?.stopAll();
  await connection?.close().catch(() => undefined);
  await server?.stop();
  await lab?.dispose();
});

const ibm = () => loadConfig(lab.configPath).config.ibmCloud!;
const instanceId = () => lab.vmwareSolutions!.instanceId;

/** vCenter's clusters and hosts (SOAP), IBM's hosts of the instance, and the IKS pool: what a rollback must restore. */
async function inventory() {
  const inv = await runActivity(scaleOutInventory, { vcenter: lab.config.vcenter });
  const vs = new VmwareSolutionsClient({ url: ibm().vmwareSolutionsUrl!, iam: await iamFor(ibm()), caFile: ibm().caFile });
  const ibmHosts = (await vs.getCluster(instanceId(), '0')).hosts.map((h) => `${h.name.hostname}:${h.state}`).sort();
  const iks = new IksClient({ iksUrl: ibm().iksUrl, iam: await iamFor(ibm()), caFile: ibm().caFile });
  const clusterId = lab.config.iksClusters[0]!.id;
  const pool = await iks.getWorkerPool(clusterId, 'default');
  const workersOfPool = (await iks.listWorkers(clusterId)).filter((w) => w.poolid === pool.id).map((w) => `${w.location}:${w.state}:${w.status}`).sort();
  return {
    clusters: inv.clusters.map(({ ref: _r, ...c }) => c),
    hosts: inv.hosts.map(({ ref: _r, ...h }) => h),
    ibmHosts,
    pool: { sizePerZone: pool.sizePerZone, zones: pool.zones.map((z) => z.id).sort(), workers: workersOfPool },
  };
}
type Inventory = Awaited<ReturnType<typeof inventory>>;
/** IKS removes surplus workers after the run has seen them go; compare once the pool is settled. */
const settledInventory = () => until('the IKS pool to settle', async () => {
  const inv = await inventory();
  return inv.pool.workers.every((w) => w.endsWith(':normal:Ready')) ? inv : undefined;
}, 120_000);

interface Outcome {
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT';
  failureType?: string;
  message?: string;
  result?: unknown;
}
/** The run's outcome, riding out the server restart (the client's own gRPC retries give up after ~50 s). */
async function outcomeOf(h: WorkflowHandle): Promise<Outcome> {
  for (;;) {
    try {
      return { status: 'COMPLETED', result: await h.result() };
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        const cause = err.cause as ApplicationFailure | undefined;
        const d = await describeRetrying(h);
        return { status: d as Outcome['status'], failureType: cause?.type ?? undefined, message: cause?.message, result: cause?.details?.[0] };
      }
      await new Promise((r) => setTimeout(r, 1000)); // the server is away: ask again
    }
  }
}
async function describeRetrying(h: WorkflowHandle): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return (await h.describe()).status.name;
    } catch (err) {
      if (i > 120) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
async function startRetrying(type: string, workflowId: string, args: unknown[]): Promise<WorkflowHandle> {
  for (let i = 0; ; i++) {
    try {
      return await client.workflow.start(type, { taskQueue, workflowId, args });
    } catch (err) {
      if (i > 120 || /already started/i.test((err as Error).message)) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
/** Approves whenever the run asks (an IBM order always does; an IKS change without a fresh acknowledgement does). */
async function outcomeApproving(h: WorkflowHandle): Promise<Outcome> {
  let done = false;
  const approver = (async () => {
    while (!done) {
      try {
        if ((await h.query(scaleOutProgressQuery)).state === 'awaiting-approval') await h.executeUpdate(approveUpdate, { args: [{ by: 'chaos-capacity-owner' }] });
      } catch {
        /* a worker or the server is away, or the run has ended */
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  try {
    return await outcomeOf(h);
  } finally {
    done = true;
    await approver;
  }
}

interface RunRecord {
  name: string;
  workflowId: string;
  expected: { status: 'COMPLETED' } | { status: 'FAILED'; failureType: 'ScaleOutRolledBack' };
  outcome?: Outcome;
  /** For runs that must roll back: the inventory before they started, and after they ended. */
  before?: Inventory;
  after?: Inventory;
  hostsAdded?: string[];
}
const runs: RunRecord[] = [];
const record = (r: RunRecord) => (runs.push(r), r);

const pin = (hosts: string[]) => Promise.all(hosts.map(async (name) => ({ name, thumbprint: await lab.vsphere!.thumbprint(name) })));

/** Backups of both sites (three each, each site's one after another; the two sites queue on their shared NSX). */
async function backupLane(site: string, n: number, onFirst?: () => void): Promise<void> {
  for (let i = 1; i <= n; i++) {
    const r = record({ name: `backup ${site} #${i}`, workflowId: `chaos-backup-${site}-${i}`, expected: { status: 'COMPLETED' } });
    const h = await startRetrying('coordinatedBackup', r.workflowId, [{ site }]);
    r.outcome = await outcomeOf(h);
    if (i === 1) onFirst?.();
  }
}

/** A scale-out that must complete, or must roll back and leave the inventory as it was. */
async function scaleOut(r: RunRecord, type: string, args: unknown, o: { faults?: () => Promise<void>; clear?: () => Promise<void> } = {}): Promise<void> {
  record(r);
  if (r.expected.status === 'FAILED') r.before = await settledInventory();
  await o.faults?.();
  try {
    r.outcome = await outcomeApproving(await startRetrying(type, r.workflowId, [args]));
  } finally {
    await o.clear?.();
  }
  if (r.expected.status === 'FAILED') r.after = await settledInventory();
}

async function scaleOutLane(): Promise<void> {
  const vsFaults = (f: object) => () => lab.vsphere!.setFaults(f);
  const vsClear = () => lab.vsphere!.clearFaults();
  // vCenter directly over SOAP.
  await scaleOut({ name: 'addHosts (vCenter)', workflowId: 'chaos-add-hosts-1', expected: { status: 'COMPLETED' }, hostsAdded: ['esx-61.lab.local', 'esx-62.lab.local'] },
    'addHosts', { site: SITE, cluster: 'DC0_C0', hosts: await pin(['esx-61.lab.local', 'esx-62.lab.local']), skipBackup: true } satisfies AddHostsInput);
  await scaleOut({ name: 'addHosts (vCenter), second host refused', workflowId: 'chaos-add-hosts-2', expected: { status: 'FAILED', failureType: 'ScaleOutRolledBack' } },
    'addHosts', { site: SITE, cluster: 'DC0_C0', hosts: await pin(['esx-63.lab.local', 'esx-64.lab.local']), skipBackup: true } satisfies AddHostsInput,
    { faults: vsFaults({ hostConnectFault: ['esx-64.lab.local'] }), clear: vsClear });
  await scaleOut({ name: 'addCluster (vCenter)', workflowId: 'chaos-add-cluster-1', expected: { status: 'COMPLETED' }, hostsAdded: ['esx-65.lab.local', 'esx-66.lab.local'] },
    'addCluster', { site: SITE, name: 'C-chaos', hosts: await pin(['esx-65.lab.local', 'esx-66.lab.local']), skipBackup: true } satisfies AddClusterInput);
  await scaleOut({ name: 'addCluster (vCenter), host lands disconnected', workflowId: 'chaos-add-cluster-2', expected: { status: 'FAILED', failureType: 'ScaleOutRolledBack' } },
    'addCluster', { site: SITE, name: 'C-fail', hosts: await pin(['esx-67.lab.local', 'esx-68.lab.local']), skipBackup: true } satisfies AddClusterInput,
    { faults: vsFaults({ addDisconnected: ['esx-68.lab.local'] }), clear: vsClear });
  // Through IBM Cloud for VMware Solutions (the site's capacity provider for these two runs).
  const back = editLabConfig(lab.configPath, (doc) => (doc.sites[SITE]!.capacity = { provider: 'ibm-vmware-solutions', instanceId: instanceId() }));
  try {
    await scaleOut({ name: 'addHosts (IBM order)', workflowId: 'chaos-add-hosts-ibm-1', expected: { status: 'COMPLETED' }, hostsAdded: ['esx-211.lab.local'] },
      'addHosts', { site: SITE, cluster: 'DC0_C0', hosts: [{ name: 'esx-211.lab.local' }], skipBackup: true } satisfies AddHostsInput);
    await scaleOut({ name: 'addHosts (IBM order fails)', workflowId: 'chaos-add-hosts-ibm-2', expected: { status: 'FAILED', failureType: 'ScaleOutRolledBack' } },
      'addHosts', { site: SITE, cluster: 'DC0_C0', hosts: [{ name: 'esx-212.lab.local' }], skipBackup: true } satisfies AddHostsInput,
      { faults: async () => lab.vmwareSolutions!.setFaults({ orderMs: 1500, failOrder: 'Insufficient capacity in the data center (lab fault)' }), clear: async () => lab.vmwareSolutions!.setFaults({ orderMs: 1500, failOrder: undefined }) });
  } finally {
    back();
  }
  // IKS worker pool.
  const iks = { site: SITE, cluster: 'lab-apps', pool: 'default' };
  await scaleOut({ name: 'expandIks resize', workflowId: 'chaos-expand-iks-1', expected: { status: 'COMPLETED' } }, 'expandIks', { ...iks, change: { kind: 'resize', sizePerZone: 2 } } satisfies ExpandIksInput);
  await scaleOut({ name: 'expandIks resize, a worker fails to provision', workflowId: 'chaos-expand-iks-2', expected: { status: 'FAILED', failureType: 'ScaleOutRolledBack' } },
    'expandIks', { ...iks, change: { kind: 'resize', sizePerZone: 3 } } satisfies ExpandIksInput,
    { faults: () => setFaults(ibm().iksUrl, { failWorkers: 1 }), clear: () => setFaults(ibm().iksUrl, { failWorkers: 0 }) });
}

/** The drill, once the first set of SITE is complete. */
async function drillLane(firstSet: Promise<void>): Promise<void> {
  await firstSet;
  const r = record({ name: 'restoreDrill', workflowId: 'chaos-restore-drill', expected: { status: 'COMPLETED' } });
  r.outcome = await outcomeOf(await startRetrying('restoreDrill', r.workflowId, [{ site: SITE, pollMs: 300 }]));
}

/** Plays the schedule against the workers and the server until the batch is done (or the schedule is). */
async function chaos(schedule: ChaosEvent[], done: () => boolean, counts: { kills: number; restarts: number }): Promise<void> {
  const t0 = Date.now();
  for (const e of schedule) {
    while (Date.now() - t0 < e.at) {
      if (done()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (done()) return;
    if (e.kind === 'kill-worker') {
      counts.kills++;
      await workers.kill(e.worker!, e.downMs);
    } else {
      counts.restarts++;
      await server.stop();
      await new Promise((r) => setTimeout(r, e.downMs));
      server = await startDevServer({ cliPath: inject('temporalCli'), dataDir, port, headless: true });
    }
  }
}

/** Every file under a directory on disk, relative to it. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

describe('chaos: a batch of runs under worker kills and a server restart', () => {
  it('every run ends as it must, nothing is done twice, nothing is left behind, rollbacks restore the inventory', async () => {
    const schedule = chaosSchedule(SEED, { kills: KILLS, workers: WORKERS, gapMs: [3000, 11000], restartWithinMs: [15_000, 60_000] });
    console.log(`chaos seed ${SEED} (CHAOS_SEED=${SEED} replays this schedule): ${schedule.map((e) => (e.kind === 'kill-worker' ? `+${e.at}ms kill worker ${e.worker} (down ${e.downMs}ms)` : `+${e.at}ms restart the server (down ${e.downMs}ms)`)).join('; ')}`);
    const counts = { kills: 0, restarts: 0 };
    let finished = false;
    let firstSet!: () => void;
    const firstSetDone = new Promise<void>((r) => (firstSet = r));
    const t0 = Date.now();
    const batch = Promise.allSettled([backupLane(SITE, 3, () => firstSet()), backupLane(SHARED, 3), scaleOutLane(), drillLane(firstSetDone)]).finally(() => (finished = true));
    const driver = chaos(schedule, () => finished, counts);
    const lanes = await batch;
    await driver;
    const seconds = Math.round((Date.now() - t0) / 1000);
    for (const l of lanes) if (l.status === 'rejected') throw l.reason;

    // What happened, in one table.
    const rows = runs.map((r) => `${r.name.padEnd(52)} ${(r.outcome?.status ?? '?').padEnd(10)} ${r.outcome?.failureType ?? ''}`);
    console.log(
      `chaos seed ${SEED}: ${runs.length} runs in ${seconds} s; ${counts.kills} worker kills, ${counts.restarts} server restart(s), ` +
        `${workers.unexpectedExits} worker exits on their own, ${workers.started} worker starts\n` +
        `outcomes: ${Object.entries(runs.reduce<Record<string, number>>((m, r) => ((m[r.outcome?.status ?? '?'] = (m[r.outcome?.status ?? '?'] ?? 0) + 1), m), {})).map(([k, v]) => `${v} ${k}`).join(', ')}\n` +
        rows.join('\n') + `\nworker logs: ${logDir}`,
    );
    expect(counts.restarts, 'the server restarted once mid-batch').toBe(1);
    expect(counts.kills).toBeGreaterThanOrEqual(3);

    // 1. Every run ended in its correct final state.
    for (const r of runs) expect({ run: r.name, status: r.outcome?.status, failureType: r.outcome?.failureType }).toEqual({ run: r.name, ...r.expected });
    const drill = runs.find((r) => r.name === 'restoreDrill')!;
    expect(drill.outcome?.result).toMatchObject({ status: 'passed' });
    for (const r of runs.filter((x) => x.expected.status === 'FAILED')) {
      const report = r.outcome!.result as RollbackReport;
      expect(report.failed, `${r.name}: undos that failed`).toEqual([]);
      // 2. The inventory of every rolled-back run equals its pre-run snapshot.
      expect(r.after, `${r.name}: inventory after the rollback`).toEqual(r.before);
    }

    // 3. No host added twice: vCenter knows each host once, and IBM was asked to order each once.
    const now = await settledInventory();
    const names = now.hosts.map((h) => h.name);
    expect(names.length, 'hosts in vCenter').toBe(new Set(names).size);
    for (const r of runs.filter((x) => x.hostsAdded)) for (const h of r.hostsAdded!) expect(names.filter((n) => n === h), `${h} in vCenter`).toHaveLength(1);
    const orders = (await (await labFetch(`${ibm().vmwareSolutionsUrl}/lab/orders`)).json()) as { kind: string; hosts: string[]; verifyOnly: boolean }[];
    const ordered = orders.filter((o) => !o.verifyOnly && o.kind === 'hosts').flatMap((o) => o.hosts);
    expect(ordered.sort(), 'hosts ordered from IBM (each once)').toEqual(['esx-211', 'esx-212']);

    // 4. No product backup started twice or left unreferenced; every complete set passes verify.
    const backups = runs.filter((r) => r.name.startsWith('backup '));
    const targets = [lab.targetOnDisk, ...lab.extraSites.map((x) => lab.sftp.diskPath(x.directory))];
    const manifests = targets.flatMap((t) => manifestsOnDisk(t).map((m) => ({ t, m })));
    expect(manifests.filter(({ m }) => m.status === 'complete')).toHaveLength(backups.length);
    expect(manifests.map(({ m }) => m.status).filter((s) => s !== 'complete'), 'sets not complete').toEqual([]);
    expect(lab.nsx.backupsStarted(), 'NSX backups started (one per set)').toBe(backups.length);
    expect(lab.vcenter.jobCount() + lab.extraSites.reduce((n, x) => n + x.vcenter.jobCount(), 0), 'vCenter backup jobs (one per set)').toBe(backups.length);
    for (const { m } of manifests) {
      const v = await cli(['backup', 'verify', m.setId, '--site', m.site, '--config', lab.configPath, '--address', server.address, '--json']);
      expect(v.code, `backup verify ${m.setId}: ${v.stderr}`).toBe(0);
    }

    // 5. No file on the target outside a manifest (beside the manifests themselves, the health report and the drill sandbox's record).
    for (const t of targets) {
      const listed = new Set(manifests.filter((x) => x.t === t).flatMap(({ m }) => [...filesOf(m).map((f) => f.path), `sets/${m.setId}/backup-set.json`]));
      const stray = filesUnder(t).filter((f) => !listed.has(f) && f !== 'report/index.html' && !/^drills\/sandbox\.json$/.test(f));
      expect(stray, `files on ${t} that no manifest lists`).toEqual([]);
    }
  }, 1_500_000);
});
