import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse } from 'yaml';
import * as activities from '../../activities/index.js';
import { startWorkerEnv } from '../fixtures/temporal.js';
import { editLabConfig, setFaults, type TestLab } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { approveWhenAsked, rolledBack } from '../fixtures/scale-out.js';
import { approveUpdate, scaleOutProgressQuery } from '../../workflows/scale-out/common.js';
import { siteReadyUpdate, type AddSiteInput, type AddSiteResult } from '../../workflows/scale-out/add-site.js';
import { loadConfig } from '../../src/config/load.js';
import { iamFor } from '../../activities/endpoints.js';
import { VmwareSolutionsClient } from '../../src/providers/ibm/vmware-solutions.js';
import { siteBlockProblems } from '../../src/cli/site-ready.js';
import { resolveSecret } from '../../src/config/secrets.js';

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
const taskQueue = 'add-site-test';

beforeAll(async () => {
  ({ env, lab, stop } = await startWorkerEnv({ site: 'main', taskQueue, activities }));
  // The lab site's vCenter belongs to an IBM instance: the new one takes its root domain.
  editLabConfig(lab.configPath, (doc) => (doc.sites[lab.site]!.capacity = { provider: 'ibm-vmware-solutions', instanceId: lab.vmwareSolutions!.instanceId }));
  lab.vmwareSolutions!.setFaults({ orderMs: 500 });
});
afterAll(async () => stop?.());

const ibm = () => loadConfig(lab.configPath).config.ibmCloud!;
const instances = async () => (await new VmwareSolutionsClient({ url: ibm().vmwareSolutionsUrl, iam: await iamFor(ibm()), caFile: ibm().caFile }).listInstances()).map((i) => `${i.name}:${i.status}`);
let n = 0;
const start = (site: string, o: Partial<AddSiteInput> = {}) => env.client.workflow.start('addSite', { taskQueue, workflowId: `add-site-test-${++n}`, args: [{ site, location: 'osa21', ...o } satisfies AddSiteInput] });
const stateOf = async (h: WorkflowHandle) => (await h.query(scaleOutProgressQuery)).state;
/** What the operator does with the printed block: fill in the secret references (here: the lab's files) and add it. */
async function addBlock(h: WorkflowHandle, site: string): Promise<{ putBack: () => void; vcenterUrl: string }> {
  await until('the run to print the site block', async () => ((await stateOf(h)) === 'awaiting-site-config' ? true : undefined), 30_000);
  const block = parse((await h.query(scaleOutProgressQuery)).siteBlock!).sites[site];
  const main = lab.config;
  block.vcenter.password = main.vcenter.password;
  block.vcenter.backupPassword = main.vcenter.backupPassword;
  block.nsx.password = main.nsx.password;
  block.nsx.backupPassphrase = main.nsx.backupPassphrase;
  const putBack = editLabConfig(lab.configPath, (doc) => (doc.sites[site] = block));
  return { putBack, vcenterUrl: block.vcenter.url };
}
const ORDER = (site: string) => `order instance ${site} (3 hosts in osa21) and wait until it is Available`;

describe('addSite through IBM Cloud for VMware Solutions', () => {
  it('orders the instance at the approved price, prints the site block, waits for `site ready`, backs the site up and schedules it', async () => {
    const h = await start('osaka');
    await until('the plan', async () => ((await stateOf(h)) === 'awaiting-approval' ? true : undefined), 30_000);
    const plan = (await h.query(scaleOutProgressQuery)).plan!;
    expect(plan.order).toEqual({ provider: 'ibm-vmware-solutions', instance: 'osaka', price: { total_monthly: '12791.20', currency: 'USD' } });
    expect(await instances(), 'nothing is ordered before the approval').not.toContain('osaka:Creating');
    await h.executeUpdate(approveUpdate, { args: [{ by: 'cfo' }] });
    const { putBack, vcenterUrl } = await addBlock(h, 'osaka');
    try {
      const printed = (await h.query(scaleOutProgressQuery)).siteBlock!;
      expect(printed).toMatch(/password: env:SDDC_OSAKA_VCENTER_PASSWORD/);
      expect(printed).toContain(`url: ${vcenterUrl}`);
      expect(await siteBlockProblems('osaka', loadConfig(lab.configPath).config.sites.osaka!)).toEqual([]);
      await expect(h.executeUpdate(siteReadyUpdate, { args: [{ site: 'kyoto', by: 'ops' }] })).rejects.toThrow();
      await h.executeUpdate(siteReadyUpdate, { args: [{ site: 'osaka', by: 'ops' }] });
      const r = (await h.result()) as AddSiteResult;
      expect(r).toMatchObject({ status: 'complete', site: 'osaka', siteReadyBy: 'ops', approvedBy: 'cfo', schedules: ['sddc-ops.osaka.backup'], firstBackup: { setId: expect.stringMatching(/^osaka-\d{8}T\d{6}Z$/) } });
      expect(await instances()).toContain('osaka:Available');
      const schedule = await env.client.schedule.getHandle('sddc-ops.osaka.backup').describe();
      expect(schedule.action).toMatchObject({ type: 'startWorkflow', workflowType: 'coordinatedBackup' });
      await env.client.schedule.getHandle('sddc-ops.osaka.backup').delete();
    } finally {
      putBack();
    }
  });

  it('an account IBM no longer lets order new instances is refused at the plan, in IBM\'s words; nothing is ordered', async () => {
    lab.vmwareSolutions!.setFaults({ refuseOrders: true });
    try {
      const err = (await (await start('nara')).result().then(() => undefined, (e: unknown) => e)) as WorkflowFailedError;
      const f = err.cause as ApplicationFailure;
      expect(f.type).toBe('ScaleOutPrecheckFailed');
      expect(f.message).toMatch(/nothing was ordered: IBM Cloud refuses the order: .*End of Marketing/);
    } finally {
      lab.vmwareSolutions!.setFaults({ refuseOrders: false });
    }
    expect((await instances()).some((i) => i.startsWith('nara:'))).toBe(false);
  });

  it('an instance that fails to deploy is deleted, and the report says so', async () => {
    lab.vmwareSolutions!.setFaults({ failOrder: 'No capacity in osa21.' });
    const h = await start('kobe');
    await approveWhenAsked(h, 'cfo');
    const { failure, report } = await rolledBack(h.result());
    expect(failure.message).toMatch(/instance kobe failed to deploy; IBM says: .*No capacity in osa21/);
    expect(report.undone.map((u) => u.step)).toEqual([ORDER('kobe')]);
    expect(await instances()).toContain('kobe:Deleted');
  });

  it('a first backup that fails deletes the instance this run ordered (and only it)', async () => {
    const h = await start('sakai');
    await approveWhenAsked(h, 'cfo');
    const { putBack, vcenterUrl } = await addBlock(h, 'sakai');
    try {
      await setFaults(vcenterUrl, { failJob: { message: 'Location is not accessible.' } });
      await h.executeUpdate(siteReadyUpdate, { args: [{ site: 'sakai', by: 'ops' }] });
      const { report } = await rolledBack(h.result());
      expect(report.undone.map((u) => u.step), 'the config and the backup leave nothing to undo').toEqual([ORDER('sakai')]);
    } finally {
      putBack();
    }
    const all = await instances();
    expect(all).toContain('sakai:Deleted');
    expect(all, 'the lab site\'s own instance is untouched').toContain('lab:Available');
  });

  it('a cancel while the run waits for the site block deletes the instance', async () => {
    const h = await start('himeji');
    await approveWhenAsked(h, 'cfo');
    await until('the run to wait for the site block', async () => ((await stateOf(h)) === 'awaiting-site-config' ? true : undefined), 30_000);
    await h.cancel();
    const { failure } = await rolledBack(h.result());
    expect(failure.message).toContain('the run was cancelled');
    expect(await instances()).toContain('himeji:Deleted');
  });

  it('site ready refuses a block whose secrets do not resolve or whose endpoints do not answer, naming them', async () => {
    const sc = structuredClone(lab.config);
    sc.vcenter.password = 'env:SDDC_TEST_NO_SUCH_VARIABLE';
    sc.nsx.url = 'http://127.0.0.1:1';
    const problems = await siteBlockProblems('x', sc);
    expect(problems).toEqual([expect.stringMatching(/^sites\.x\.vcenter\.password: .*SDDC_TEST_NO_SUCH_VARIABLE/), expect.stringMatching(/^sites\.x\.nsx\.url http:\/\/127\.0\.0\.1:1 does not answer/)]);
    expect(problems.join(' '), 'no secret value is printed').not.toContain(await resolveSecret(lab.config.nsx.password));
  });
});
