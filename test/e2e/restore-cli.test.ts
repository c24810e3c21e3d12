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
  it('restore run restores the lab from its newest set; NSX\'s pause is answered with restore continue', async () => {
    const backup = await cli(['backup', 'run', '--site', 'drcli', '--json', ...conn()]);
    expect(backup.code, backup.stderr).toBe(0);
    const setId = JSON.parse(backup.stdout).setId as string;
    // The site is lost; new appliances answer at its addresses.
    const vcenter = await startVcenterSimulator({ user: stack.lab.config.vcenter.user, password: await resolveSecret(stack.lab.config.vcenter.password), restoreMode: true, jobDurationMs: 400 });
    const nsx = await startNsxSimulator({ user: stack.lab.config.nsx.user, password: await resolveSecret(stack.lab.config.nsx.password), jobDurationMs: 400 });
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
