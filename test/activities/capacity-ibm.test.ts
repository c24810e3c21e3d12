import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { runActivity as run } from '../fixtures/activity.js';
import { labFetch, startTestLab, type TestLab } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { awaitIbmOrder, orderIbmHosts, precheckIbmOrder, removeIbmHosts } from '../../activities/scale-out/capacity-ibm.js';
import { awaitIbmInstance, deleteIbmInstance, orderIbmInstance } from '../../activities/scale-out/site-ibm.js';
import { loadConfig } from '../../src/config/load.js';

let lab: TestLab;
beforeAll(async () => {
  lab = await startTestLab({ site: 'ibmact' });
  lab.vmwareSolutions!.setFaults({ orderMs: 300 });
});
afterAll(async () => lab?.dispose());

const ibm = () => loadConfig(lab.configPath).config.ibmCloud!;
const settled = (p: () => Promise<unknown>) => until('IBM to settle', () => p().then(() => true, () => undefined), 30_000);

describe('IBM Cloud for VMware Solutions activities: check, then act', () => {
  it('an order placed twice (a retry, a restarted worker) is placed once; a removal twice, once', async () => {
    const t = { ibm: ibm(), instanceId: lab.vmwareSolutions!.instanceId, cluster: 'DC0_C0' };
    const plan = await run(precheckIbmOrder, { ...t, hosts: ['esx-501.lab.local'] });
    expect(plan).toMatchObject({ clusterId: '0', hostNames: ['esx-501'], price: { total_monthly: '2890.40', currency: 'USD' } });
    const o = { ...t, clusterId: plan.clusterId, hostNames: plan.hostNames };
    expect(await run(orderIbmHosts, o)).toEqual({ how: 'ordered' });
    expect(await run(orderIbmHosts, o)).toEqual({ how: 'already-ordered' });
    await settled(() => run(awaitIbmOrder, { ...o, want: 'present' }));
    const placed = ((await (await labFetch(`${ibm().vmwareSolutionsUrl}/lab/orders`)).json()) as { kind: string; verifyOnly: boolean }[]).filter((x) => x.kind === 'hosts' && !x.verifyOnly);
    expect(placed).toHaveLength(1);
    expect(await run(removeIbmHosts, o)).toEqual({ how: 'requested' });
    expect(await run(removeIbmHosts, o), 'hosts already being deleted are not asked for again').toEqual({ how: 'absent' });
    await settled(() => run(awaitIbmOrder, { ...o, want: 'absent' }));
  });

  it('a busy instance is a retryable, benign InstanceBusy that says why', async () => {
    lab.vmwareSolutions!.setFaults({ busyMs: 2000 });
    const t = { ibm: ibm(), instanceId: lab.vmwareSolutions!.instanceId, cluster: 'DC0_C0', clusterId: '0', hostNames: ['esx-502'] };
    const err = (await run(orderIbmHosts, t).then(() => undefined, (e: unknown) => e)) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'InstanceBusy', nonRetryable: false, category: 'BENIGN' });
    expect(err.message).toMatch(/the instance is changing .*waits and is tried again/);
  });

  it('a new instance is ordered once; the undo deletes only an instance this run ordered', async () => {
    const notBefore = Date.now() - 1000;
    const order = { name: 'nagoya', root_domain: 'lab.local', management: { cluster_name: 'nagoya-mgmt', location: 'tok04', quantity: 3 } };
    const a = await run(orderIbmInstance, { ibm: ibm(), order, notBefore });
    expect(await run(orderIbmInstance, { ibm: ibm(), order, notBefore })).toEqual({ id: a.id, how: 'already-ordered' });
    await settled(() => run(awaitIbmInstance, { ibm: ibm(), id: a.id, want: 'available' }));
    expect(await run(deleteIbmInstance, { ibm: ibm(), name: 'lab', notBefore }), 'the lab\'s own (older) instance is not this run\'s').toEqual({ how: 'absent' });
    expect(await run(deleteIbmInstance, { ibm: ibm(), name: 'nagoya', notBefore })).toEqual({ how: 'requested', id: a.id });
    await settled(() => run(awaitIbmInstance, { ibm: ibm(), id: a.id, want: 'deleted' }));
  });
});
