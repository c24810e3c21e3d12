import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { until } from '../fixtures/wait.js';
import { cli, startStack, type Stack } from '../fixtures/stack.js';
import { manifestsOnDisk } from '../fixtures/manifest.js';
import { labFetch, editLabConfig } from '../fixtures/lab.js';
import { acknowledgeUpdate, appDataReminder, appDataStatusQuery, appDataWorkflowId } from '../../workflows/appdata/appdata-reminder.js';
import type { ReceivedMessage } from '../../src/lab/webhook-receiver.js';
import { failureText } from '../fixtures/codec.js';

let stack: Stack;
beforeAll(async () => {
  // Short durations: a reminder every 3 s, escalation after 7 s.
  stack = await startStack('iks', { appData: { runWithBackup: true, remindEvery: '3s', escalateAfter: '7s' } });
});
afterAll(async () => stack?.stop());

const conn = () => ['--config', stack.lab.configPath, '--address', stack.server.address];
const CLUSTER = () => stack.lab.config.iksClusters[0]!.id;
const byPath = (path: string) => stack.lab.receiver!.messages().filter((m) => m.path === path);


describe('IKS records and app-data reminders', () => {
  let setId: string;

  it('a backup set records each linked cluster and the provider-managed etcd backups', async () => {
    const r = await cli(['backup', 'run', '--site', 'iks', '--json', ...conn()]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    setId = out.setId;
    expect(out.appDataReminders).toEqual([{ clusterId: CLUSTER(), workflowId: appDataWorkflowId('iks', CLUSTER()), how: 'started' }]);
    const m = manifestsOnDisk(stack.lab.targetOnDisk).find((x) => x.setId === setId)!;
    expect(m.status).toBe('complete');
    expect(m.iks![0]).toMatchObject({ clusterId: CLUSTER(), name: 'lab-apps', masterHealth: 'normal', etcdBackup: { managedBy: 'provider' } });
    expect(m.warnings).toBeUndefined();
  });

  it('without an acknowledgement: reminders, then escalation', async () => {
    await until('a second reminder and an escalation', () => byPath('/owners').length >= 2 && byPath('/escalation').length >= 1);
    const [first, second] = byPath('/owners') as (ReceivedMessage & { body: { text: string } })[];
    expect(first!.body.text).toMatch(/back up the application data of IKS cluster lab-apps/);
    expect(first!.body.text).toMatch(/namespaces: shop; volumes: shop\/pvc-orders/);
    expect(second!.body.text).toMatch(/^\*Reminder 2:/);
    const esc = byPath('/escalation')[0]!.body as { kind: string; to: string; idempotencyKey: string };
    expect(esc).toMatchObject({ kind: 'appdata-escalation', to: 'Platform lead' });
    expect(esc.idempotencyKey).toContain(appDataWorkflowId('iks', CLUSTER()));

    const status = await cli(['appdata', 'status', '--json', ...conn()]);
    const rows = JSON.parse(status.stdout);
    expect(rows[0]).toMatchObject({ clusterId: CLUSTER(), escalated: true });
    expect(rows[0].remindersSent).toBeGreaterThanOrEqual(2);
  });

  it('a notification the receiver accepted but answered 500 to is not posted twice', async () => {
    const postsBefore = stack.lab.receiver!.postedKeys().length;
    stack.lab.receiver!.failNextAfterAccepting(1);
    // The next post is accepted but answered 500; the activity retries it with the same key.
    const retriedKey = await until('the failed post to be retried', () => {
      const keys = stack.lab.receiver!.postedKeys().slice(postsBefore);
      return keys.find((k, i) => k !== undefined && keys.indexOf(k) !== i);
    }, 45_000);
    expect(stack.lab.receiver!.messages().filter((m) => m.idempotencyKey === retriedKey)).toHaveLength(1);
  });

  it('rejects an acknowledgement for an unknown cluster in the validator, with a clear message', async () => {
    const handle = stack.client.workflow.getHandle(appDataWorkflowId('iks', CLUSTER()));
    const err = await handle.executeUpdate(acknowledgeUpdate, { args: [{ clusterId: 'not-this-cluster', by: 'Mallory' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((err as WorkflowUpdateFailedError).cause?.message)).toMatch(/unknown cluster "not-this-cluster": this reminder is for IKS cluster/);
    const viaCli = await cli(['appdata', 'ack', '--cluster', 'no-such-cluster', '--by', 'Mallory', ...conn()]);
    expect(viaCli.code).toBe(2);
    expect(viaCli.stderr).toMatch(/unknown cluster "no-such-cluster": linked IKS clusters are lab-apps/);
  });

  it('an acknowledgement completes the reminder and lands in the manifest; a second one is accepted idempotently', async () => {
    const ack = await cli(['appdata', 'ack', '--cluster', 'lab-apps', '--by', 'Aiko Tanaka', '--evidence', 'Velero schedule shop-daily to COS', '--json', ...conn()]);
    expect(ack.code, ack.stderr).toBe(0);
    expect(JSON.parse(ack.stdout)).toMatchObject({ acknowledgedBy: 'Aiko Tanaka', alreadyAcknowledged: false, escalated: true });

    const result = await stack.client.workflow.getHandle(appDataWorkflowId('iks', CLUSTER())).result();
    expect(result.acknowledgedBy).toBe('Aiko Tanaka');
    const m = manifestsOnDisk(stack.lab.targetOnDisk).find((x) => x.setId === setId)!;
    expect(m.appData![CLUSTER()]).toMatchObject({ acknowledgedBy: 'Aiko Tanaka', evidence: 'Velero schedule shop-daily to COS', escalated: true });

    const again = await cli(['appdata', 'ack', '--cluster', CLUSTER(), '--by', 'Someone Else', '--json', ...conn()]);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ acknowledgedBy: 'Aiko Tanaka', alreadyAcknowledged: true });
    const show = await cli(['backup', 'show', setId, '--config', stack.lab.configPath]);
    expect(show.stdout).toMatch(/app data\s+c0lab1iks2cluster3: confirmed by Aiko Tanaka/);
  });

  it('scale-out iks: --plan names the acknowledgement and changes nothing; resize runs to every worker ready and prints the etcd record; bad input exits 2', async () => {
    const plan = await cli(['scale-out', 'iks', 'resize', '--site', 'iks', '--cluster', 'lab-apps', '--pool', 'default', '--size-per-zone', '2', '--plan', '--json', ...conn()]);
    expect(plan.code, plan.stderr).toBe(0);
    const p = JSON.parse(plan.stdout);
    expect(p.plan.iks).toMatchObject({ change: 'resize from 1 to 2 worker(s) per zone', workers: { before: 3, after: 6 }, ack: { by: 'Aiko Tanaka' } });
    const run = await cli(['scale-out', 'iks', 'resize', '--site', 'iks', '--cluster', 'lab-apps', '--pool', 'default', '--size-per-zone', '2', ...conn()]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/done: lab-apps pool default: resize from 1 to 2 worker\(s\) per zone; 6 workers ready; etcd recorded before and after \(master normal\)/);
    const back = await cli(['scale-out', 'iks', 'resize', '--site', 'iks', '--cluster', 'lab-apps', '--pool', 'default', '--size-per-zone', '1', '--json', ...conn()]);
    expect(JSON.parse(back.stdout)).toMatchObject({ status: 'complete', workers: { before: 6, after: 3 } });
    expect((await cli(['scale-out', 'iks', 'resize', '--site', 'iks', '--cluster', 'lab-apps', '--pool', 'default', '--size-per-zone', 'two', ...conn()])).code).toBe(2);
    expect((await cli(['scale-out', 'iks', 'add-zone', '--site', 'iks', '--cluster', 'lab-apps', '--pool', 'default', '--zone', 'Tok 04', ...conn()])).code).toBe(2);
  }, 120_000);

  it('an unhealthy IKS master is a warning on the set, which is still complete', async () => {
    await labFetch(`${stack.lab.ibm!.iksUrl}/lab/clusters/${CLUSTER()}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ masterHealth: 'critical', masterStatus: 'Error', state: 'critical' }),
    });
    const r = await cli(['backup', 'run', '--site', 'iks', '--json', ...conn()]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('complete');
    expect(out.warnings[0]).toMatch(/lab-apps .*master health "critical"/);
    const show = await cli(['backup', 'show', out.setId, '--config', stack.lab.configPath]);
    expect(show.stdout).toMatch(/WARNING\s+IKS cluster lab-apps/);
    // The warning is in the run's UI details too (the Web UI reads them through this query).
    const meta = await stack.client.workflow.getHandle(out.workflowId, out.runId).query<{ currentDetails: string }>('__temporal_workflow_metadata');
    expect(meta.currentDetails).toMatch(/Warnings[\s\S]*lab-apps .*master health "critical"/);
  });

  it('reminders also run on their own: appdata remind, and a schedule with purpose appdata', async () => {
    // The previous backup started a reminder; close it first.
    expect((await cli(['appdata', 'ack', '--cluster', CLUSTER(), '--by', 'Aiko Tanaka', ...conn()])).code).toBe(0);
    await stack.client.workflow.getHandle(appDataWorkflowId('iks', CLUSTER())).result();
    const first = await cli(['appdata', 'remind', '--site', 'iks', '--json', ...conn()]);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual([{ clusterId: CLUSTER(), workflowId: appDataWorkflowId('iks', CLUSTER()), how: 'started' }]);
    const again = await cli(['appdata', 'remind', '--site', 'iks', '--json', ...conn()]);
    expect(JSON.parse(again.stdout)[0].how).toBe('already-pending');

    const created = await cli(['schedule', 'create', '--site', 'iks', '--purpose', 'appdata', '--cron', '0 9 * * 1', '--tz', 'Asia/Tokyo', ...conn()]);
    expect(created.code, created.stderr).toBe(0);
    expect((await cli(['schedule', 'trigger', 'iks', '--purpose', 'appdata', ...conn()])).code).toBe(0);
    const run = await until('the scheduled round to complete', async () => {
      const d = JSON.parse((await cli(['schedule', 'describe', 'iks', '--purpose', 'appdata', '--json', ...conn()])).stdout);
      return d.recentActions.find((a: { outcome: string }) => a.outcome === 'COMPLETED');
    });
    const desc = await stack.client.workflow.getHandle(run.workflowId).describe();
    expect(desc.searchAttributes).toMatchObject({ SddcSite: ['iks'], SddcOperation: ['appdata-round'] });
    expect(await stack.client.workflow.getHandle(run.workflowId).result()).toEqual([{ clusterId: CLUSTER(), workflowId: appDataWorkflowId('iks', CLUSTER()), how: 'already-pending' }]);
  });

  it('a notification that keeps failing leaves no webhook token in the history nor in the pending failure', async () => {
    // A receiver that accepts connections and never answers, behind a Slack-style URL whose path is the token.
    const silent = createServer(() => undefined);
    const port = await new Promise<number>((r) => silent.listen(0, '127.0.0.1', () => r((silent.address() as AddressInfo).port)));
    const token = 'T0SECRET/B0SECRET/xoxb-token-never-printed';
    const secretFile = join(stack.lab.dir, 'secrets', 'webhook-owners-url');
    const original = readFileSync(secretFile, 'utf8');
    // The worker reads the config at the start of each run: the short timeout applies to the next reminder.
    const restore = editLabConfig(stack.lab.configPath, (doc) => (doc.notifications.webhooks.owners.timeout = '1s'));
    const handle = stack.client.workflow.getHandle(appDataWorkflowId('iks', CLUSTER()));
    try {
      await handle.terminate('start a fresh reminder for this test').catch(() => undefined);
      writeFileSync(secretFile, `http://127.0.0.1:${port}/services/${token}\n`);
      const r = await cli(['appdata', 'remind', '--site', 'iks', '--json', ...conn()]);
      expect(r.code, r.stderr).toBe(0);
      const pending = await until('the notification to have failed twice', async () => {
        const a = (await handle.describe()).raw.pendingActivities?.find((p) => (p.attempt ?? 0) >= 2 && p.lastFailure);
        return a;
      }, 60_000);
      // Encrypted like every payload: read it as an operator with the key does, and the token is not there either.
      const said = await failureText(stack.client, pending.lastFailure);
      expect(said).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} timed out`));
      expect(said).not.toContain('SECRET');
      const everything = JSON.stringify((await handle.describe()).raw) + JSON.stringify(await handle.fetchHistory());
      expect(everything).not.toContain('SECRET');
      expect(everything).not.toContain('xoxb');
    } finally {
      writeFileSync(secretFile, original);
      restore();
      await handle.terminate('test done').catch(() => undefined);
      silent.close();
    }
  });

  it('a reminder whose notifications keep failing goes on with warnings, continues as new after its rounds, and still completes on acknowledgement', async () => {
    const secretFile = join(stack.lab.dir, 'secrets', 'webhook-owners-url');
    const original = readFileSync(secretFile, 'utf8');
    const id = appDataWorkflowId('iks', CLUSTER());
    await stack.client.workflow.getHandle(id).terminate('a fresh reminder for this test').catch(() => undefined);
    const closed = await new Promise<number>((r) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as AddressInfo).port;
        srv.close(() => r(p));
      });
    });
    writeFileSync(secretFile, `http://127.0.0.1:${closed}/owners\n`);
    try {
      const first = await stack.client.workflow.start(appDataReminder, {
        workflowId: id,
        taskQueue: 'sddc-ops',
        args: [{ site: 'iks', clusterId: CLUSTER(), roundsBeforeContinue: 2 }],
      });
      await until('the reminder to continue as new', async () => (await stack.client.workflow.getHandle(id, first.firstExecutionRunId).describe()).status.name === 'CONTINUED_AS_NEW' || undefined, 120_000);
      const status = await stack.client.workflow.getHandle(id).query(appDataStatusQuery);
      expect(status.pendingSince).toBe((await stack.client.workflow.getHandle(id, first.firstExecutionRunId).query(appDataStatusQuery)).pendingSince);
      expect(status.remindersSent).toBeGreaterThanOrEqual(2); // carried over: the new run did not start counting again
      expect(status.warnings.length).toBeGreaterThanOrEqual(2);
      expect(status.warnings[0]).toMatch(/reminder 1 to Shop app team \(owners\) not delivered: .*ECONNREFUSED/);
      expect((await stack.client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');

      writeFileSync(secretFile, original);
      const ack = await cli(['appdata', 'ack', '--cluster', CLUSTER(), '--by', 'Kenji Sato', ...conn()]);
      expect(ack.code, ack.stderr).toBe(0);
      const done = await stack.client.workflow.getHandle(id).result();
      expect(done).toMatchObject({ acknowledgedBy: 'Kenji Sato', alreadyAcknowledged: false });
    } finally {
      writeFileSync(secretFile, original);
    }
  }, 180_000);
});
