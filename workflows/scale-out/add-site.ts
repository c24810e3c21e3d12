import { ApplicationFailure, condition, defineUpdate, executeChild, proxyActivities, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type * as activities from '../../activities/index.js';
import { parseDuration } from '../../src/domain/duration.js';
import { NON_RETRYABLE_TYPES } from '../../src/domain/failure-types.js';
import { SddcOperation, SddcSite } from '../../src/temporal/search-attributes.js';
import type { coordinatedBackup } from '../backup/coordinated-backup.js';
import { approvalGate, planResult, precheck, runSaga, scaleOutState, steps, undo, type CapacityOrder, type SagaStep, type ScaleOutPlanResult } from './common.js';

export interface AddSiteInput {
  /** The new site's name; IBM names the instance after it (1–10 characters). */
  site: string;
  /** IBM data center of the management cluster, e.g. tok02. */
  location: string;
  /** Hosts of the management cluster (IBM's minimum is 2). */
  hosts?: number;
  rootDomain?: string;
  requireApproval?: boolean;
  planOnly?: boolean;
}

export interface AddSiteResult {
  status: 'complete';
  site: string;
  instanceId: string;
  order: CapacityOrder;
  firstBackup: { setId: string };
  schedules: string[];
  siteReadyBy: string;
  approvedBy?: string;
}

/** `sddc-ops site ready S --run RUN`: the operator added the site's block (the CLI checked it first). */
export const siteReadyUpdate = defineUpdate<{ site: string }, [{ site: string; by: string }]>('siteReady');

/**
 * A new site: a vCenter Server (NSX-T) instance ordered from IBM Cloud for VMware Solutions —
 * priced at the plan (an account IBM no longer lets order is refused there), approved, ordered,
 * waited for (hours: each look is one activity attempt paced by the retry policy), its site block
 * printed for the config; then the run waits for `sddc-ops site ready`, takes the site's first
 * coordinated backup and creates its backup schedule. Undo: delete the instance this run ordered
 * (never another), and the schedules it made.
 */
export async function addSite(input: AddSiteInput): Promise<AddSiteResult | ScaleOutPlanResult> {
  upsertSearchAttributes([
    { key: SddcSite, value: input.site },
    { key: SddcOperation, value: 'scale-out-add-site' },
  ]);
  const notBefore = workflowInfo().runStartTime.getTime();
  const state = scaleOutState(`New site ${input.site} in ${input.location}`);
  let readyBy: string | undefined;
  setHandler(
    siteReadyUpdate,
    ({ by }) => {
      readyBy = by.trim();
      return { site: input.site };
    },
    {
      validator: ({ site, by }) => {
        if (site !== input.site) throw new Error(`this run adds site ${input.site}, not ${site}`);
        if (!by?.trim()) throw new Error('say who added the block: --by NAME');
        if (state.progress.state !== 'awaiting-site-config') throw new Error(`this run is not waiting for the site's config (it is ${state.progress.state})`);
      },
    },
  );
  const plan = await precheck(() =>
    steps.precheckIbmSite.executeWithOptions({ summary: `Pre-check: site ${input.site} is new; IBM verifies and prices the instance` }, [
      { site: input.site, location: input.location, hosts: input.hosts ?? 3, ...(input.rootDomain ? { rootDomain: input.rootDomain } : {}) },
    ]),
  );
  const { ibm } = plan;
  const every = parseDuration(ibm.orders.pollInterval);
  const paced = proxyActivities<typeof activities>({
    startToCloseTimeout: '2m',
    scheduleToCloseTimeout: parseDuration(ibm.orders.timeout),
    retry: { initialInterval: every, backoffCoefficient: 1, maximumInterval: every, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
  });
  const order: CapacityOrder = { provider: 'ibm-vmware-solutions', instance: input.site, ...(plan.price ? { price: plan.price } : {}) };
  let instanceId = '';
  let firstBackup = '';
  let schedules: string[] = [];
  const list: SagaStep[] = [
    {
      name: `order instance ${input.site} (${plan.order.management.quantity} hosts in ${input.location}) and wait until it is Available`,
      undo: `delete instance ${input.site} (only the one this run ordered), and wait`,
      compensate: async () => {
        const r = await paced.deleteIbmInstance.executeWithOptions({ summary: `Undo: delete instance ${input.site}` }, [{ ibm, name: input.site, notBefore }]);
        if (r.id) await paced.awaitIbmInstance.executeWithOptions({ summary: `Undo: wait until instance ${input.site} is deleted` }, [{ ibm, id: r.id, want: 'deleted' }]);
      },
      run: async () => {
        const o = await paced.orderIbmInstance.executeWithOptions({ summary: `Order instance ${input.site} from IBM Cloud` }, [{ ibm, order: plan.order, notBefore }]);
        instanceId = o.id;
        const endpoints = await paced.awaitIbmInstance.executeWithOptions({ summary: `Wait until instance ${input.site} is Available` }, [{ ibm, id: o.id, want: 'available' }]);
        const siteBlock = await steps.newSiteBlock.executeWithOptions({ summary: `The config block of site ${input.site}` }, [{ site: input.site, templateSite: plan.templateSite, endpoints }]);
        state.update({ siteBlock });
        return `instance ${o.id}; vCenter ${endpoints.vcenter ?? '?'}, NSX ${endpoints.nsx ?? '?'}`;
      },
    },
    {
      name: `the site's block in the config, confirmed with \`sddc-ops site ready ${input.site}\``,
      undo: 'nothing to undo: the config file is the operator\'s',
      run: async () => {
        state.update({ state: 'awaiting-site-config' });
        await condition(() => readyBy !== undefined);
        state.update({ state: 'changing' });
        return `by ${readyBy}`;
      },
    },
    {
      name: `the first coordinated backup of ${input.site}`,
      undo: 'nothing to undo: the backup set is kept',
      run: async () => {
        const r = await executeChild<typeof coordinatedBackup>('coordinatedBackup', { workflowId: `coordinated-backup-${input.site}`, args: [{ site: input.site }] });
        firstBackup = r.setId;
        return `set ${r.setId}`;
      },
    },
    {
      name: `the backup schedule of ${input.site}`,
      undo: `delete the schedules of ${input.site} this run made`,
      compensate: () => undo.deleteSiteSchedules.executeWithOptions({ summary: `Undo: delete the schedules of ${input.site}` }, [{ site: input.site, purposes: schedules.map((id) => id.split('.').at(-1)!) }]),
      run: async () => {
        schedules = (await steps.applySiteSchedules.executeWithOptions({ summary: `Create the backup schedule of ${input.site}` }, [{ site: input.site }])).schedules;
        return schedules.join(', ') || 'the site block declares none';
      },
    },
  ];
  state.update({
    plan: { order, approvalNeeded: `a new vCenter Server instance from IBM Cloud: ${plan.price ? `${plan.price.total_monthly} ${plan.price.currency} a month` : 'IBM quoted no price'}` },
    steps: list.map((s) => ({ name: s.name, undo: s.undo, status: 'pending' })),
  });
  if (input.planOnly) return planResult(state);
  await approvalGate(input, state);
  await runSaga(`adding site ${input.site}`, state, list, async () => {
    if (!firstBackup) throw ApplicationFailure.create({ type: 'ScaleOutPostcheckFailed', nonRetryable: true, message: `post-check: site ${input.site} has no backup set` });
  });
  const approvedBy = state.approvedBy();
  return { status: 'complete', site: input.site, instanceId, order, firstBackup: { setId: firstBackup }, schedules, siteReadyBy: readyBy!, ...(approvedBy ? { approvedBy } : {}) };
}
