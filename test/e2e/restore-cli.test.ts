import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, startStack, type Stack } from '../fixtures/stack.js';
import { editLabConfig } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { startVcenterSimulator } from '../../src/lab/vcenter.js';
import { startNsxSimulator } from '../../src/lab/nsx.js';
import { restoreProgressQuery } from '../../workflows/restore/restore-site.js';

let stack: Stack;
const fresh: { close: () => Promise<void> }[] = [];
beforeAll(async () => {
  stack = await startStack('drcli');
});
afterAll(async () => {
  for (const f of fresh) await f.close();
  await stack?.stop();
});
const conn = () => ['--config', stack.lab.configPath, '--address', stack.server.address];

describe('sddc-ops restore', () => {
  it('a scheduled drill and restore drill mark the newest set restore-tested; backup list/show and restore sandbox say so', async () => {
    const backup = await cli(['backup', 'run', '--site', 'drcli', '--json', ...conn()]);
    expect(backup.code, backup.stderr).toBe(0);
    const setId = JSON.parse(backup.stdout).setId as string;
    const created = await cli(['schedule', 'create', '--site', 'drcli', '--purpose', 'drill', '--cron', '0 3 * * 0', '--json', ...conn()]);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).scheduleId).toBe('sddc-ops.drcli.drill');
    try {
      expect((await cli(['schedule', 'trigger', 'drcli', '--purpose', 'drill', ...conn()])).code).toBe(0);
      const runId = await until('the scheduled drill to start', async () => (await stack.client.schedule.getHandle('sddc-ops.drcli.drill').describe()).info.recentActions[0]?.action.workflow.workflowId, 30_000);
      expect(runId).toMatch(/^restore-drill-drcli-/);
      expect(await stack.client.workflow.getHandle(runId).result()).toMatchObject({ status: 'passed', setId });
      const listed = JSON.parse((await cli(['backup', 'list', '--site', 'drcli', '--json', '--config', stack.lab.configPath])).stdout) as { sets: { setId: string; restoreTested?: { drillRun: string } }[] };
      expect(listed.sets.find((x) => x.setId === setId)?.restoreTested?.drillRun).toBe(runId);
    } finally {
      await cli(['schedule', 'delete', 'drcli', '--purpose', 'drill', ...conn()]);
    }
    const drill = await cli(['restore', 'drill', '--site', 'drcli', '--json', ...conn()]);
    expect(drill.code, drill.stderr).toBe(0);
    const r = JSON.parse(drill.stdout) as { status: string; setId: string; workflowId: string; restoreTested: { drillRun: string } };
    expect(r).toMatchObject({ status: 'passed', setId, restoreTested: { drillRun: r.workflowId } });
    const table = await cli(['backup', 'list', '--site', 'drcli', '--config', stack.lab.configPath]);
    expect(table.stdout.split('\n')[0]).toContain('RESTORE-TESTED');
    expect(table.stdout.split('\n').find((l) => l.startsWith(setId))).toMatch(/\d{4}-\d\d-\d\dT[\d:]+Z\s*$/);
    const show = await cli(['backup', 'show', setId, '--config', stack.lab.configPath]);
    expect(show.stdout).toContain(`by drill ${r.workflowId}`);
    expect(show.stdout).toMatch(/captured +\d+ NSX and \d+ vCenter objects/);
    const sandbox = await cli(['restore', 'sandbox', '--site', 'drcli', '--json', '--config', stack.lab.configPath]);
    expect(JSON.parse(sandbox.stdout)).toMatchObject({ state: 'restored', setId, drillRun: r.workflowId });
    const unknown = await cli(['restore', 'drill', '--site', 'nosuch', ...conn()]);
    expect(unknown.code).toBe(2);
    const badSet = await cli(['restore', 'drill', '--site', 'drcli', '--set', '../x', ...conn()]);
    expect(badSet.code).toBe(2);
  }, 240_000);

  it('restore run restores the lab from its newest set; NSX\'s pause is answered with restore continue', async () => {
    const backup = await cli(['backup', 'run', '--site', 'drcli', '--json', ...conn()]);
    expect(backup.code, backup.stderr).toBe(0);
    const setId = JSON.parse(backup.stdout).setId as string;
    // The site is lost; new appliances answer at its addresses.
    const vcenter = await startVcenterSimulator({ user: stack.lab.config.vcenter.user, password: await resolveSecret(stack.lab.config.vcenter.password), restoreMode: true, jobDurationMs: 400, tls: stack.lab.tls.server });
    const nsx = await startNsxSimulator({ user: stack.lab.config.nsx.user, password: await resolveSecret(stack.lab.config.nsx.password), jobDurationMs: 400, tls: stack.lab.tls.server });
    fresh.push(vcenter, nsx);
    editLabConfig(stack.lab.configPath, (doc) => {
      doc.sites.drcli!.vcenter.url = vcenter.url;
      doc.sites.drcli!.nsx.url = nsx.url;
    });
    const started = await cli(['restore', 'run', '--site', 'drcli', '--yes', '--no-wait', '--json', ...conn()]);
    expect(started.code, started.stderr).toBe(0);
    const id = JSON.parse(started.stdout).workflowId as string;
    const h = stack.client.workflow.getHandle(id);
    await until('NSX to pause for the operator', async () => ((await h.query(restoreProgressQuery)).waitingFor?.kind === 'nsx-answer' ? true : undefined), 90_000);
    const unanswered = await cli(['restore', 'continue', id, '--by', 'ops', ...conn()]);
    expect(unanswered.code).toBe(2);
    expect(unanswered.stderr).toContain('answer what NSX asks: --answer CONFIRM_FABRIC_NODES');
    const answered = await cli(['restore', 'continue', id, '--by', 'ops', '--answer', 'CONFIRM_FABRIC_NODES', ...conn()]);
    expect(answered.code, answered.stderr).toBe(0);
    const r = (await h.result()) as { status: string; setId: string; nsxAnswers: unknown[] };
    expect(r).toMatchObject({ status: 'restored', setId, nsxAnswers: [{ instructions: ['CONFIRM_FABRIC_NODES'], by: 'ops' }] });
    expect(vcenter.inRestoreMode()).toBe(false);
    expect((await cli(['restore', 'continue', id, '--by', 'ops', ...conn()])).code, 'a restore that has ended waits for nothing').toBe(2);
  }, 240_000);
});
