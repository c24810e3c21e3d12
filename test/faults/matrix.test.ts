import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as real from '../../activities/index.js';
import { sftpEndpoint, iamFor } from '../../activities/endpoints.js';
import { scaleOutInventory } from '../../activities/scale-out/hosts.js';
import { unreferencedFolders } from '../../src/catalog/prune.js';
import { SftpStore } from '../../src/catalog/store.js';
import { withSftp } from '../../src/providers/sftp/client.js';
import { loadConfig } from '../../src/config/load.js';
import { IksClient } from '../../src/providers/ibm/iks.js';
import { VmwareSolutionsClient } from '../../src/providers/ibm/vmware-solutions.js';
import type { BackupSetManifest } from '../../src/domain/backup-set.js';
import type { RollbackReport } from '../../src/domain/saga.js';
import type { SandboxRecord } from '../../activities/restore/drill.js';
import { approveUpdate, scaleOutProgressQuery } from '../../workflows/scale-out/common.js';
import type { AddHostsInput } from '../../workflows/scale-out/add-hosts.js';
import type { AddClusterInput } from '../../workflows/scale-out/add-cluster.js';
import type { ExpandIksInput } from '../../workflows/scale-out/expand-iks.js';
import { backupStarter, startWorkerEnv } from '../fixtures/temporal.js';
import { editLabConfig, labFetch, setFaults, type TestLab } from '../fixtures/lab.js';
import { manifestsOnDisk } from '../fixtures/manifest.js';
import { runActivity } from '../fixtures/activity.js';
import { until } from '../fixtures/wait.js';
import { FAULTS, MATRIX, renderFaultsDoc, rowTitle, type ActivityName, type Injection, type MatrixRow, type Scenario } from './matrix.js';

/**
 * The fault matrix (matrix.ts): every row runs its workflow against one lab and one Temporal
 * server, one row after another, and its expected outcome is asserted from the run, the target
 * and the lab. The bodies below are per scenario (how to start and clean up) and per outcome kind;
 * nothing is per row.
 */

// The real activities; a row's fault can be set as a chosen activity is first called (the step is reached).
const armed = new Map<string, () => Promise<void>>();
const activities = Object.fromEntries(
  Object.entries(real).map(([name, fn]) => [
    name,
    async (...args: unknown[]) => {
      const set = armed.get(name);
      if (set) {
        armed.delete(name);
        await set();
      }
      return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
    },
  ]),
);

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
const taskQueue = 'fault-matrix';
const PERCENT_POLICY = { enabled: true, admissionControlEnabled: true, failoverLevel: 1, policy: { kind: 'resources' as const, cpuPercent: 34, memoryPercent: 34, failoverLevel: 1, autoCompute: false } };
/** Faults that a simulator consumes when it injects them: left over afterwards, the fault never met the run. */
const ONE_SHOT = ['http5xx', 'rateLimit', 'expireSessions', 'failJob', 'upload', 'targetFull', 'restoreSuspended', 'failWorkers', 'stallWorkers', 'failMethod', 'failOrder'] as const;

const ibm = () => loadConfig(lab.configPath).config.ibmCloud!;
const httpFaultUrl = (into: Injection['into']): string => {
  switch (into) {
    case 'nsx':
      return lab.nsx.url;
    case 'vcenter':
      return lab.vcenter.url;
    case 'iks':
      return lab.ibm!.iksUrl;
    case 'sandboxNsx':
      return lab.sandbox.nsx.url;
    case 'sandboxVcenter':
      return lab.sandbox.vcenter.url;
    case 'vmwareSolutions':
      return lab.vmwareSolutions!.url;
    case 'vsphere':
      return lab.vsphere!.sdkUrl.replace(/\/sdk$/, '');
    case 'sftp':
      throw new Error('the SFTP server has no HTTP control');
  }
};
const HTTP_SIMULATORS = ['nsx', 'vcenter', 'iks', 'sandboxNsx', 'sandboxVcenter', 'vmwareSolutions'] as const;

/** Every fault cleared (`DELETE /lab/faults`), then the lab's quick pace for IKS workers and IBM orders. */
async function baseline(): Promise<void> {
  for (const s of HTTP_SIMULATORS) {
    const res = await labFetch(`${httpFaultUrl(s)}/lab/faults`, { method: 'DELETE' });
    expect(res.ok, `DELETE ${s} /lab/faults`).toBe(true);
  }
  await lab.vsphere!.clearFaults();
  lab.sftp.setFaults!({});
  await setFaults(lab.ibm!.iksUrl, { workerMs: 400 });
  await setFaults(lab.vmwareSolutions!.url, { orderMs: 400 });
}

async function inject(i: Injection): Promise<void> {
  if (i.into === 'sftp') return lab.sftp.setFaults!(i.faults);
  if (i.into === 'vsphere') return lab.vsphere!.setFaults(i.faults);
  await setFaults(httpFaultUrl(i.into), i.faults);
}

/** The one-shot faults of the injection still pending in the simulator (none: every one met the run). */
async function leftOver(i: Injection, dropsBefore: number): Promise<string[]> {
  if (i.into === 'sftp') return lab.sftp.drops!().length > dropsBefore ? [] : Object.keys(i.faults);
  const res = await (i.into === 'vsphere' ? fetch(`${httpFaultUrl(i.into)}/lab/faults`) : labFetch(`${httpFaultUrl(i.into)}/lab/faults`));
  const body = (await res.json()) as Record<string, unknown>;
  const now = (i.into === 'vsphere' ? body.faults : body) as Record<string, unknown>;
  return ONE_SHOT.filter((k) => k in i.faults && !!now[k]);
}

/** The highest attempt any run in `handles` made of `activity` (0: it never ran). */
async function attemptsOf(handles: WorkflowHandle[], activity: ActivityName): Promise<number> {
  let max = 0;
  for (const h of handles) {
    const events = (await h.fetchHistory().catch(() => ({ events: [] }))).events ?? [];
    const names = new Map<string, string>();
    for (const e of events) if (e.activityTaskScheduledEventAttributes) names.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    for (const e of events) {
      const s = e.activityTaskStartedEventAttributes;
      if (s && names.get(String(s.scheduledEventId)) === activity) max = Math.max(max, s.attempt ?? 1);
    }
  }
  return max;
}

interface RunOutcome {
  /** The run, and its child runs whose activities count too. */
  handles: WorkflowHandle[];
  result?: unknown;
  failure?: ApplicationFailure;
}
async function outcomeOf(handle: WorkflowHandle, children: WorkflowHandle[] = []): Promise<RunOutcome> {
  try {
    return { handles: [handle, ...children], result: await handle.result() };
  } catch (err) {
    expect(err, 'the run fails as a workflow failure').toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause, 'with an ApplicationFailure').toBeInstanceOf(ApplicationFailure);
    return { handles: [handle, ...children], failure: cause as ApplicationFailure };
  }
}

/** Approves a scale-out run if and when it asks (IBM orders always do; a stale app-data ack may). */
async function approveIfAsked(h: WorkflowHandle): Promise<void> {
  for (;;) {
    if ((await h.describe()).status.name !== 'RUNNING') return;
    const p = await h.query(scaleOutProgressQuery).catch(() => undefined);
    if (p?.state === 'awaiting-approval') {
      await h.executeUpdate(approveUpdate, { args: [{ by: 'fault-matrix' }] });
      return;
    }
    if (p && !['checking', 'planned'].includes(p.state)) return; // past the gate
    await new Promise((r) => setTimeout(r, 200));
  }
}
async function scaleOutRun(h: WorkflowHandle): Promise<RunOutcome> {
  const approving = approveIfAsked(h).catch(() => undefined);
  const o = await outcomeOf(h);
  await approving;
  return o;
}

const storeDo = async <T,>(fn: (s: SftpStore) => Promise<T>): Promise<T> => withSftp(await sftpEndpoint(lab.config.backupTarget), (sftp) => fn(new SftpStore(sftp, lab.config.backupTarget.directory)));
const manifestOf = (setId: string): BackupSetManifest | undefined => manifestsOnDisk(lab.targetOnDisk).find((m) => m.setId === setId);

/** How each workflow is started, what it must leave as it was, and how a successful run is undone for the next row. */
interface ScenarioRunner {
  snapshot: () => Promise<unknown>;
  run: (row: MatrixRow) => Promise<RunOutcome>;
  /** After a completed run: the scenario's checks of success, then the change undone. */
  completed?: (o: RunOutcome) => Promise<void>;
  /** After a failed run: the scenario's checks of the failure's end state. */
  failed?: (row: MatrixRow, o: RunOutcome) => Promise<void>;
  /** Before comparing with the snapshot: let the lab settle. */
  settle?: () => Promise<void>;
}

let n = 0;
const backups = backupStarter(() => ({ env, lab }), taskQueue);
const pin = (hosts: string[]) => Promise.all(hosts.map(async (name) => ({ name, thumbprint: await lab.vsphere!.thumbprint(name) })));
const inventory = async () => {
  const inv = await runActivity(scaleOutInventory, { vcenter: lab.config.vcenter });
  return { clusters: inv.clusters.map(({ ref: _r, ...c }) => c), hosts: inv.hosts.map(({ ref: _r, ...h }) => h) };
};
const vs = async () => new VmwareSolutionsClient({ url: ibm().vmwareSolutionsUrl, iam: await iamFor(ibm()), caFile: ibm().caFile });
const ibmInventory = async () => ({
  ...(await inventory()),
  ibmHosts: (await (await vs()).getCluster(lab.vmwareSolutions!.instanceId, '0')).hosts.map((h) => `${h.name.hostname}:${h.state}`).sort(),
  ibmClusters: (await (await vs()).listClusters(lab.vmwareSolutions!.instanceId)).map((c) => c.name).sort(),
});
/** A site whose capacity comes from IBM, for one run: the worker reads the file when the run starts. */
const orderingFromIbm = () => editLabConfig(lab.configPath, (doc) => (doc.sites[lab.site]!.capacity = { provider: 'ibm-vmware-solutions', instanceId: lab.vmwareSolutions!.instanceId }));
const iks = async () => new IksClient({ iksUrl: ibm().iksUrl, iam: await iamFor(ibm()), caFile: ibm().caFile });
const pool = async () => {
  const c = await iks();
  const clusterId = lab.config.iksClusters[0]!.id;
  const p = await c.getWorkerPool(clusterId, 'default');
  const workers = (await c.listWorkers(clusterId)).filter((w) => w.poolid === p.id).map((w) => `${w.location}:${w.state}:${w.status}`).sort();
  return { sizePerZone: p.sizePerZone, zones: p.zones.map((z) => z.id).sort(), workers };
};
const poolSettled = () => until('the worker pool to settle', async () => ((await pool()).workers.every((w) => w.endsWith(':normal:Ready')) ? true : undefined), 60_000);
const sandboxRecord = () => JSON.parse(readFileSync(join(lab.targetOnDisk, 'drills', 'sandbox.json'), 'utf8')) as SandboxRecord;
/** Every drill needs a complete set; the backup rows leave several, and this makes one if none is there. */
async function goodSet(): Promise<string> {
  const complete = manifestsOnDisk(lab.targetOnDisk).filter((m) => m.status === 'complete');
  if (complete.length) return complete.sort((a, b) => a.startedAt.localeCompare(b.startedAt)).at(-1)!.setId;
  return ((await (await backups.start()).result()) as { setId: string }).setId;
}

const SCENARIO_RUNNERS: Record<Scenario, ScenarioRunner> = {
  backup: {
    snapshot: async () => ({ nsx: lab.nsx.backupsStarted(), vcenter: lab.vcenter.jobCount() }),
    run: async () => outcomeOf(await backups.start()),
    completed: async (o) => {
      const r = o.result as { status: string; setId: string };
      expect(r.status).toBe('complete');
      expect(manifestOf(r.setId)?.status).toBe('complete');
    },
    failed: async (row, o) => {
      const e = row.expect as Extract<MatrixRow['expect'], { kind: 'failed' }>;
      const setId = (o.failure!.message.match(/backup set (\S+) failed/) ?? [])[1];
      expect(setId, 'the failure names its set').toBeTruthy();
      const m = manifestOf(setId!);
      if (e.manifest === 'none') expect(m, 'no manifest: the set was never opened').toBeUndefined();
      if (e.manifest === 'failed') {
        expect(m?.status).toBe('failed');
        expect(m!.failureReason).toBeTruthy();
        expect(m!.totals.files, 'a failed set lists no verified files').toBe(0);
        for (const f of [...(m!.nsx?.folders ?? []), ...(m!.vcenter?.folders ?? [])]) expect(existsSync(join(lab.targetOnDisk, f)), `${f} on the target`).toBe(true);
      }
      if (e.partial) {
        const folders = m![e.partial]?.folders ?? [];
        const metadata = e.partial === 'nsx' ? 'metadata.json' : 'backup-metadata.json';
        const cut = folders.filter((f) => f.includes(e.partial === 'nsx' ? 'cluster-node-backups' : 'vCenter/')).map((f) => join(lab.targetOnDisk, f));
        expect(cut.length, `the manifest records the ${e.partial} folder the product left`).toBeGreaterThan(0);
        expect(cut.some((d) => readdirSync(d).length > 0 && !existsSync(join(d, metadata))), 'a folder holding the cut-off upload, without its metadata').toBe(true);
      }
    },
    settle: async () => {
      await until('the products to finish their jobs', async () => !lab.vcenter.jobRunning() && (await lab.nsx.idle(), true));
    },
  },
  addHosts: {
    snapshot: inventory,
    run: async () =>
      scaleOutRun(await env.client.workflow.start('addHosts', { taskQueue, workflowId: `matrix-add-hosts-${++n}`, args: [{ site: lab.site, cluster: 'DC0_C0', hosts: await pin(['esx-51.lab.local', 'esx-52.lab.local']), skipBackup: true } satisfies AddHostsInput] })),
    completed: async (o) => {
      expect((o.result as { added: string[] }).added).toEqual(['esx-51.lab.local', 'esx-52.lab.local']);
      for (const host of ['esx-51.lab.local', 'esx-52.lab.local']) await runActivity(real.removeHostFromCluster, { vcenter: lab.config.vcenter, host });
      await runActivity(real.setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha: PERCENT_POLICY });
    },
  },
  addCluster: {
    snapshot: inventory,
    run: async () =>
      scaleOutRun(await env.client.workflow.start('addCluster', { taskQueue, workflowId: `matrix-add-cluster-${++n}`, args: [{ site: lab.site, name: 'C-matrix', hosts: await pin(['esx-51.lab.local', 'esx-52.lab.local']), skipBackup: true } satisfies AddClusterInput] })),
    completed: async (o) => {
      expect((o.result as { added: string[] }).added).toEqual(['esx-51.lab.local', 'esx-52.lab.local']);
      expect((await inventory()).clusters.find((c) => c.name === 'C-matrix')?.hosts).toEqual(['esx-51.lab.local', 'esx-52.lab.local']);
      await runActivity(real.destroyClusterIfPresent, { vcenter: lab.config.vcenter, name: 'C-matrix' });
    },
  },
  addHostsIbm: {
    snapshot: ibmInventory,
    run: async () => {
      const putBack = orderingFromIbm();
      try {
        return await scaleOutRun(await env.client.workflow.start('addHosts', { taskQueue, workflowId: `matrix-add-hosts-ibm-${++n}`, args: [{ site: lab.site, cluster: 'DC0_C0', hosts: [{ name: 'esx-221.lab.local' }, { name: 'esx-222.lab.local' }], skipBackup: true } satisfies AddHostsInput] }));
      } finally {
        putBack();
      }
    },
  },
  addClusterIbm: {
    snapshot: ibmInventory,
    run: async () => {
      const putBack = orderingFromIbm();
      try {
        return await scaleOutRun(await env.client.workflow.start('addCluster', { taskQueue, workflowId: `matrix-add-cluster-ibm-${++n}`, args: [{ site: lab.site, name: 'C-ibm', hosts: [], hostCount: 2, skipBackup: true } satisfies AddClusterInput] }));
      } finally {
        putBack();
      }
    },
  },
  expandIks: {
    snapshot: pool,
    run: async () =>
      scaleOutRun(await env.client.workflow.start('expandIks', { taskQueue, workflowId: `matrix-expand-iks-${++n}`, args: [{ site: lab.site, cluster: 'lab-apps', pool: 'default', change: { kind: 'resize', sizePerZone: 2 } } satisfies ExpandIksInput] })),
    completed: async () => {
      const now = await pool();
      expect(now.sizePerZone).toBe(2);
      expect(now.workers.filter((w) => w.endsWith(':normal:Ready')), 'the run ended only when every worker was ready').toHaveLength(6);
      const t = { ibm: ibm(), cluster: lab.config.iksClusters[0]!, pool: 'default' };
      await runActivity(real.changeWorkerPool, { ...t, change: { kind: 'resize', sizePerZone: 1 } });
      await until('the pool to be back', async () => ((await pool()).workers.length === 3 ? true : undefined), 60_000);
    },
    settle: async () => void (await poolSettled()),
  },
  drill: {
    snapshot: async () => undefined,
    run: async () => {
      await goodSet();
      const h = await env.client.workflow.start('restoreDrill', { taskQueue, workflowId: `matrix-drill-${++n}`, args: [{ site: lab.site, pollMs: 200 }] });
      return outcomeOf(h, [env.client.workflow.getHandle(`${h.workflowId}-restore`)]);
    },
    completed: async (o) => {
      const r = o.result as { status: string; setId: string; drillRun: string };
      expect(r.status).toBe('passed');
      expect(manifestOf(r.setId)!.restoreTested?.drillRun).toBe(r.drillRun);
      expect(sandboxRecord().state).toBe('restored');
    },
    failed: async (row, o) => {
      const e = row.expect as Extract<MatrixRow['expect'], { kind: 'failed' }>;
      const drillRun = o.handles[0]!.workflowId;
      const set = manifestsOnDisk(lab.targetOnDisk).find((m) => m.drills?.some((d) => d.drillRun === drillRun));
      expect(set?.drills?.find((d) => d.drillRun === drillRun)).toMatchObject({ ok: false, problems: [expect.stringMatching(e.says)] });
      expect(set!.restoreTested?.drillRun, 'a failed drill does not make the set restore-tested').not.toBe(drillRun);
      if (e.sandbox) expect(sandboxRecord()).toMatchObject({ state: e.sandbox, drillRun });
    },
  },
};

describe('the fault matrix against the lab (real Temporal, real sshd, every simulator)', () => {
  beforeAll(async () => {
    ({ env, lab, stop } = await startWorkerEnv({ site: 'matrix', taskQueue, activities }));
    await runActivity(real.setClusterHa, { vcenter: lab.config.vcenter, cluster: 'DC0_C0', ha: PERCENT_POLICY });
  });
  afterAll(async () => {
    backups.restore();
    await stop?.();
  });

  for (const row of MATRIX) {
    it(rowTitle(row), { timeout: 120_000 }, async () => {
      const runner = SCENARIO_RUNNERS[row.scenario];
      await baseline();
      const before = await runner.snapshot();
      const dropsBefore = lab.sftp.drops!().length;
      const putBack = row.config?.workerPoolTimeout
        ? editLabConfig(lab.configPath, (doc) => ((doc as unknown as { ibmCloud: { workerPool: { timeout: string } } }).ibmCloud.workerPool.timeout = row.config!.workerPoolTimeout!))
        : undefined;
      let injected = false;
      const setIt = async () => {
        await inject(row.inject);
        injected = true;
      };
      let o: RunOutcome;
      try {
        if (row.inject.at) armed.set(row.inject.at, setIt);
        else await setIt();
        o = await runner.run(row);
      } finally {
        armed.clear();
        putBack?.();
      }
      expect(injected, `the run reached ${row.inject.at ?? 'its start'}, where the fault was set`).toBe(true);
      const e = row.expect;

      const left = await leftOver(row.inject, dropsBefore);
      await baseline(); // nothing of this row's faults may stand in the way of the checks and clean-up below

      if (e.kind === 'retried' || e.kind === 'tolerated') {
        expect(o.failure?.message, 'the run completes').toBeUndefined();
        if (e.kind === 'retried') {
          expect(left, 'the fault met the run (the simulator consumed it)').toEqual([]);
          const attempts = await attemptsOf(o.handles, e.activity);
          if (e.by === 'activity retry') expect(attempts, `${e.activity} ran a second attempt`).toBeGreaterThan(1);
          else expect(attempts, `${e.activity} rode it out in its first attempt`).toBe(1);
        } else {
          const setId = (o.result as { setId: string }).setId;
          expect(manifestOf(setId)!.warnings ?? []).toContainEqual(expect.stringMatching(e.warning));
        }
        if (row.scenario === 'backup') {
          // One product backup each, however the faults were ridden out.
          const b = before as { nsx: number; vcenter: number };
          expect({ nsx: lab.nsx.backupsStarted() - b.nsx, vcenter: lab.vcenter.jobCount() - b.vcenter }).toEqual({ nsx: 1, vcenter: 1 });
        }
        await runner.completed?.(o);
      } else {
        expect(o.failure, 'the run fails').toBeDefined();
        expect(o.failure!.type).toBe(e.failure);
        expect(o.failure!.message).toMatch(e.says);
        if (e.rollback) {
          const report = o.failure!.details?.[0] as RollbackReport;
          expect(report.undone, 'the compensations that ran').toHaveLength(e.rollback.undone);
          expect(report.failed, 'no compensation failed').toEqual([]);
          expect((await o.handles[0]!.query(scaleOutProgressQuery)).state).toBe('rolled-back');
        }
        if (e.nothingChanged) expect((await o.handles[0]!.query(scaleOutProgressQuery)).steps.every((s) => s.status === 'pending'), 'no step ran').toBe(true);
        await runner.failed?.(row, o);
      }

      await runner.settle?.();
      if (row.scenario === 'backup') {
        expect(lab.vcenter.jobRunning(), 'no vCenter job left running').toBe(false);
        expect(await storeDo((s) => unreferencedFolders(s)), 'every product folder on the target is recorded by a manifest').toEqual([]);
      } else if (row.scenario !== 'drill') {
        expect(await runner.snapshot(), 'the lab is as it was before the row').toEqual(before);
      }
    });
  }
});

describe('the matrix table', () => {
  it('covers every fault of the issue, each row named once', () => {
    expect(new Set(MATRIX.map((r) => r.fault))).toEqual(new Set(FAULTS));
    const titles = MATRIX.map(rowTitle);
    expect(new Set(titles).size).toBe(titles.length);
  });

  it('docs/faults.md is the table as `npm run faults:doc` prints it', () => {
    const doc = readFileSync(new URL('../../docs/faults.md', import.meta.url), 'utf8');
    expect(doc, 'docs/faults.md is out of date: run `npm run faults:doc`').toBe(renderFaultsDoc(MATRIX));
    for (const r of MATRIX) expect(doc).toContain(`| ${r.fault} | ${r.step.replace(/\|/g, '\\|')} |`);
  });
});
