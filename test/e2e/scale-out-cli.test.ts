import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { CLI, cli, startStack, type Stack } from '../fixtures/stack.js';
import { editLabConfig } from '../fixtures/lab.js';
import { runActivity } from '../fixtures/activity.js';
import { until } from '../fixtures/wait.js';
import { removeHostFromCluster, scaleOutInventory, setClusterHa } from '../../activities/scale-out/hosts.js';
import { awaitIbmOrder, removeIbmHosts } from '../../activities/scale-out/capacity-ibm.js';
import { loadConfig } from '../../src/config/load.js';
import { scaleOutProgressQuery } from '../../workflows/scale-out/common.js';
import { VsphereClient } from '../../src/providers/vsphere/client.js';
import { resolveSecret } from '../../src/config/secrets.js';

let stack: Stack;
process.env.SDDC_TEST_ESXI_PASSWORD = 'lab-esxi-password';
const HA = { enabled: true, admissionControlEnabled: true, failoverLevel: 1, policy: { kind: 'resources' as const, cpuPercent: 34, memoryPercent: 34, failoverLevel: 1, autoCompute: false } };

beforeAll(async () => {
  stack = await startStack('cli-grow');
  editLabConfig(stack.lab.configPath, (doc) => (doc.sites[stack.lab.site]!.scaleOut = { hostUser: 'root', hostPassword: 'env:SDDC_TEST_ESXI_PASSWORD' }));
  await runActivity(setClusterHa, { vcenter: stack.lab.config.vcenter, cluster: 'DC0_C0', ha: HA });
});
afterAll(async () => stack?.stop());

const conn = () => ['--config', stack.lab.configPath, '--address', stack.server.address];
/** AddHost tasks vCenter is still running on DC0_C0. */
const addsInFlight = async () => {
  const c = new VsphereClient({ url: stack.lab.config.vcenter.url, user: stack.lab.config.vcenter.user, password: await resolveSecret(stack.lab.config.vcenter.password), caFile: stack.lab.config.vcenter.caFile });
  try {
    const cluster = (await runActivity(scaleOutInventory, { vcenter: stack.lab.config.vcenter })).clusters.find((x) => x.name === 'DC0_C0')!.ref;
    return (await c.runningTasks(cluster, 'ClusterComputeResource.addHost')).length;
  } finally {
    await c.logout();
  }
};
const snapshot = async () => {
  const inv = await runActivity(scaleOutInventory, { vcenter: stack.lab.config.vcenter });
  return { clusters: inv.clusters.map(({ ref: _r, ...c }) => c), hosts: inv.hosts.map(({ ref: _r, ...h }) => h) };
};

describe('sddc-ops scale-out', () => {
  it('--plan changes nothing and lists exactly the steps the run then takes', async () => {
    const before = await snapshot();
    const tp = await stack.lab.vsphere!.thumbprint('esx-91.lab.local');
    const plan = await cli(['scale-out', 'add-hosts', '--site', 'cli-grow', '--cluster', 'DC0_C0', '--host', 'esx-91.lab.local', '--plan', '--json', ...conn()]);
    expect(plan.code, plan.stderr).toBe(0);
    const p = JSON.parse(plan.stdout);
    expect(p.status).toBe('planned');
    expect(p.plan.hosts).toEqual([{ name: 'esx-91.lab.local', thumbprint: tp, source: 'discovered' }]);
    expect(p.plan.ha.change).toBe('recomputed');
    expect(await snapshot()).toEqual(before);

    const run = await cli(['scale-out', 'add-hosts', '--site', 'cli-grow', '--cluster', 'DC0_C0', '--host', `esx-91.lab.local=${tp}`, '--skip-backup', '--json', ...conn()]);
    expect(run.code, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    expect(r).toMatchObject({ status: 'complete', added: ['esx-91.lab.local'], backup: { skipped: true } });
    const late = await cli(['cancel', r.workflowId, ...conn()]);
    expect(late.code, 'a cancel of a finished run is refused, not silently taken').toBe(2);
    expect(late.stderr).toContain('has already ended (COMPLETED): nothing to cancel');
    const status = await cli(['scale-out', 'status', r.workflowId, '--json', ...conn()]);
    expect(JSON.parse(status.stdout).steps.map((s: { name: string }) => s.name)).toEqual(p.steps.map((s: { name: string }) => s.name));
    await runActivity(removeHostFromCluster, { vcenter: stack.lab.config.vcenter, host: 'esx-91.lab.local' });
    await runActivity(setClusterHa, { vcenter: stack.lab.config.vcenter, cluster: 'DC0_C0', ha: HA });
    expect(await snapshot()).toEqual(before);
  });

  it('an unpinned host without approval stops before any change and prints the thumbprint to pin (exit 1)', async () => {
    const before = await snapshot();
    const r = await cli(['scale-out', 'add-hosts', '--site', 'cli-grow', '--cluster', 'DC0_C0', '--host', 'esx-92.lab.local', '--skip-backup', ...conn()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`--host esx-92.lab.local=${await stack.lab.vsphere!.thumbprint('esx-92.lab.local')}`);
    expect(await snapshot()).toEqual(before);
  });

  it('a rolled-back run exits 1; --json gives its type and what was undone', async () => {
    const before = await snapshot();
    await stack.lab.vsphere!.setFaults({ hostConnectFault: ['esx-98.lab.local'] });
    try {
      const hosts = await Promise.all(['esx-97.lab.local', 'esx-98.lab.local'].map(async (h) => `${h}=${await stack.lab.vsphere!.thumbprint(h)}`));
      const r = await cli(['scale-out', 'add-hosts', '--site', 'cli-grow', '--cluster', 'DC0_C0', ...hosts.flatMap((h) => ['--host', h]), '--skip-backup', '--json', ...conn()]);
      expect(r.code).toBe(1);
      const out = JSON.parse(r.stdout);
      expect(out).toMatchObject({ status: 'rolled-back', type: 'ScaleOutRolledBack', reason: expect.stringContaining('could not connect to host esx-98.lab.local') });
      expect(out.rollback).toEqual({ undone: [expect.objectContaining({ step: 'add host esx-98.lab.local' }), expect.objectContaining({ step: 'add host esx-97.lab.local' })], failed: [] });
    } finally {
      await stack.lab.vsphere!.clearFaults();
    }
    expect(await snapshot()).toEqual(before);
  });

  it('on a site whose capacity is IBM Cloud for VMware Solutions: --plan prices the order, approve lets it through, the hosts join vCenter', async () => {
    const before = await snapshot();
    const putBack = editLabConfig(stack.lab.configPath, (doc) => (doc.sites['cli-grow']!.capacity = { provider: 'ibm-vmware-solutions', instanceId: stack.lab.vmwareSolutions!.instanceId }));
    stack.lab.vmwareSolutions!.setFaults({ orderMs: 300 });
    try {
      const plan = await cli(['scale-out', 'add-hosts', '--site', 'cli-grow', '--cluster', 'DC0_C0', '--host', 'esx-401.lab.local', '--plan', '--json', ...conn()]);
      expect(plan.code, plan.stderr).toBe(0);
      expect(JSON.parse(plan.stdout).plan).toMatchObject({ order: { instance: 'lab', price: { total_monthly: '2890.40', currency: 'USD' } }, approvalNeeded: 'an order from IBM Cloud: 2890.40 USD a month' });
      const started = await cli(['scale-out', 'add-hosts', '--site', 'cli-grow', '--cluster', 'DC0_C0', '--host', 'esx-401.lab.local', '--skip-backup', '--no-wait', '--json', ...conn()]);
      const id = JSON.parse(started.stdout).workflowId as string;
      await until('the run asks for approval', async () => ((await state(id)).state === 'awaiting-approval' ? true : undefined), 60_000);
      const shown = await cli(['scale-out', 'status', id, ...conn()]);
      expect(shown.stdout).toContain('order: IBM Cloud for VMware Solutions, instance lab: 2890.40 USD a month');
      expect((await cli(['approve', id, '--by', 'capacity-owner', ...conn()])).code).toBe(0);
      await until('the run completes', async () => ((await state(id)).state === 'complete' ? true : undefined), 60_000);
      expect((await snapshot()).hosts.find((h) => h.name === 'esx-401.lab.local')).toMatchObject({ cluster: 'DC0_C0', connectionState: 'connected' });
      const t = { ibm: loadConfig(stack.lab.configPath).config.ibmCloud!, instanceId: stack.lab.vmwareSolutions!.instanceId, cluster: 'DC0_C0', clusterId: '0', hostNames: ['esx-401'] };
      await runActivity(removeIbmHosts, t);
      await until('IBM takes the host back', () => runActivity(awaitIbmOrder, { ...t, want: 'absent' }).then(() => true, () => undefined), 30_000);
    } finally {
      putBack();
    }
    await runActivity(setClusterHa, { vcenter: stack.lab.config.vcenter, cluster: 'DC0_C0', ha: HA });
    expect(await snapshot()).toEqual(before);
  }, 180_000);

  it('bad input exits 2: a malformed thumbprint, no host, an empty approver, an unknown run', async () => {
    expect((await cli(['scale-out', 'add-hosts', '--site', 'cli-grow', '--cluster', 'DC0_C0', '--host', 'esx-93=zz', ...conn()])).code).toBe(2);
    expect((await cli(['scale-out', 'add-cluster', '--site', 'cli-grow', '--name', 'C9', ...conn()])).code).toBe(2);
    expect((await cli(['approve', 'no-such-run', '--by', 'me', ...conn()])).code).toBe(2);
    expect((await cli(['cancel', 'no-such-run', ...conn()])).code).toBe(2);
    const notThere = await cli(['site', 'ready', 'kyoto', '--run', 'scale-out-add-site-kyoto', ...conn()]);
    expect(notThere.code, 'a site ready for a block not in the config').toBe(2);
    expect(notThere.stderr).toContain('sites.kyoto: no such site');
    const noRun = await cli(['site', 'ready', 'cli-grow', '--run', 'no-such-run', ...conn()]);
    expect(noRun.code).toBe(2);
    expect(noRun.stderr).toContain('no run no-such-run');
    expect((await cli(['scale-out', 'add-site', '--name', 'Bad Name', '--location', 'tok02', ...conn()])).code).toBe(2);
  });

  const state = (id: string) => stack.client.workflow.getHandle(id).query(scaleOutProgressQuery);

  it('--require-approval waits; approve refuses an empty name, then the run adds the cluster', async () => {
    const started = await cli(['scale-out', 'add-cluster', '--site', 'cli-grow', '--name', 'C-cli', '--host', 'esx-94.lab.local', '--require-approval', '--skip-backup', '--no-wait', '--json', ...conn()]);
    expect(started.code, started.stderr).toBe(0);
    const id = JSON.parse(started.stdout).workflowId as string;
    await until('the run waits for approval', async () => ((await state(id)).state === 'awaiting-approval' ? true : undefined), 60_000);
    const shown = await cli(['scale-out', 'status', id, ...conn()]);
    expect(shown.stdout).toMatch(/awaiting-approval[\s\S]*esx-94\.lab\.local {2}thumbprint [0-9A-F:]{59} \(discovered\)[\s\S]*create cluster C-cli {3}\[undo: remove cluster C-cli\]/);
    const empty = await cli(['approve', id, '--by', ' ', ...conn()]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('say who approves');
    expect((await cli(['approve', id, '--by', 'ops-lead', ...conn()])).code).toBe(0);
    await until('the run completes', async () => ((await state(id)).state === 'complete' ? true : undefined), 60_000);
    expect((await snapshot()).clusters.find((c) => c.name === 'C-cli')?.hosts).toEqual(['esx-94.lab.local']);
  }, 180_000);

  it('cancel rolls a run back: the cluster it made and the host it added are gone', async () => {
    const before = await snapshot();
    // The host's AddHost_Task runs 8 s: the cancel (a CLI process, slow to start on a loaded machine) lands while it runs.
    await stack.lab.vsphere!.setFaults({ taskRunMs: 8000 });
    try {
      const tp = await stack.lab.vsphere!.thumbprint('esx-95.lab.local');
      const started = await cli(['scale-out', 'add-cluster', '--site', 'cli-grow', '--name', 'C-cli2', '--host', `esx-95.lab.local=${tp}`, '--skip-backup', '--no-wait', '--json', ...conn()]);
      const id = JSON.parse(started.stdout).workflowId as string;
      await until('the host is being added', async () => ((await state(id)).steps[1]?.status === 'running' ? true : undefined), 60_000);
      expect((await cli(['cancel', id, ...conn()])).code).toBe(0);
      await stack.lab.vsphere!.clearFaults(); // the undos run at full speed; the task in flight keeps its 8 s
      await until('the run is rolled back', async () => ((await state(id)).state === 'rolled-back' ? true : undefined), 90_000);
      expect((await state(id)).rollback!.undone.map((u) => u.step)).toEqual(['add host esx-95.lab.local', 'create cluster C-cli2']);
    } finally {
      await stack.lab.vsphere!.clearFaults();
    }
    expect(await snapshot()).toEqual(before);
  }, 180_000);

  it('a worker killed (-9) while a host is being added: another worker finishes the run, and the host is added once', async () => {
    const q = 'grow-kill-q';
    const startWorker = async () => {
      const child = spawn(process.execPath, [CLI, 'worker', '--config', stack.lab.configPath, '--address', stack.server.address, '--task-queue', q], { env: { ...process.env, TEMPORAL_ADDRESS: '' } });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      await until('the worker to poll', () => new RegExp(`polling task queue ${q}`).test(stderr) || undefined);
      return child;
    };
    const host = 'esx-96.lab.local';
    const before = await snapshot();
    const first = await startWorker();
    let second: ReturnType<typeof spawn> | undefined;
    // The AddHost_Task outlives the worker: it reads `running` for 40 s, well beyond the step's heartbeat timeout.
    await stack.lab.vsphere!.setFaults({ taskRunMs: 40_000 });
    try {
      const tp = await stack.lab.vsphere!.thumbprint(host);
      const started = await cli(['scale-out', 'add-hosts', '--site', 'cli-grow', '--cluster', 'DC0_C0', '--host', `${host}=${tp}`, '--skip-backup', '--no-wait', '--json', '--task-queue', q, ...conn()]);
      expect(started.code, started.stderr).toBe(0);
      const id = JSON.parse(started.stdout).workflowId as string;
      const handle = stack.client.workflow.getHandle(id);
      await until('the add to be in flight, its task heartbeated', async () =>
        (await handle.describe()).raw.pendingActivities?.some((a) => a.activityType?.name === 'addHostToCluster' && a.heartbeatDetails?.payloads?.length) || undefined,
      );
      first.kill('SIGKILL');
      await stack.lab.vsphere!.clearFaults(); // the task in flight keeps its 40 s; what comes after runs at once
      expect((await snapshot()).hosts.some((h) => h.name === host), 'the add has not landed when the worker dies').toBe(false);
      second = await startWorker();
      await until('the run completes', async () => ((await state(id)).state === 'complete' ? true : undefined), 120_000);
      const attempts = (await handle.fetchHistory()).events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
      expect(Math.max(...attempts), 'the add was retried on the second worker').toBeGreaterThanOrEqual(2);
      // Whatever the dead worker started has landed by now, or lands now: then count.
      await until('no add in flight on the cluster', async () => ((await addsInFlight()) === 0 ? true : undefined), 60_000);
      const after = await snapshot();
      expect(after.hosts.filter((h) => h.name === host)).toEqual([expect.objectContaining({ cluster: 'DC0_C0', connectionState: 'connected', inMaintenanceMode: false })]);
      expect(after.clusters.find((c) => c.name === 'DC0_C0')!.hosts.filter((h) => h === host)).toHaveLength(1);
    } finally {
      first.kill('SIGKILL');
      second?.kill('SIGTERM');
      await stack.lab.vsphere!.clearFaults();
    }
    await runActivity(removeHostFromCluster, { vcenter: stack.lab.config.vcenter, host });
    await runActivity(setClusterHa, { vcenter: stack.lab.config.vcenter, cluster: 'DC0_C0', ha: HA });
    expect(await snapshot()).toEqual(before);
  }, 240_000);
});
