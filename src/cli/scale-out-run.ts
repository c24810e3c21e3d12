/** What the scale-out commands do (loaded when they run). */
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError, WorkflowFailedError, WorkflowIdConflictPolicy, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { loadConfig, siteOf } from '../config/load.js';
import type { SiteConfig } from '../config/schema.js';
import { uiLink } from '../temporal/backup-runs.js';
import { SddcOperation, SddcSite } from '../temporal/search-attributes.js';
import { approveUpdate, scaleOutProgressQuery, type ScaleOutPlanResult, type ScaleOutProgress } from '../../workflows/scale-out/common.js';
import type { AddHostsInput, AddHostsResult } from '../../workflows/scale-out/add-hosts.js';
import type { AddClusterInput } from '../../workflows/scale-out/add-cluster.js';
import type { ExpandIksInput, ExpandIksResult } from '../../workflows/scale-out/expand-iks.js';
import type { AddSiteInput, AddSiteResult } from '../../workflows/scale-out/add-site.js';
import { haLine, iksLines, orderLine } from '../../workflows/scale-out/details.js';
import { connectOrExplain, failureReason, runEnd, requireWorker } from './backup-run.js';
import type { ConnectionOpts } from './common.js';
import { CliError, EXIT, info, isTty, printJson } from './output.js';
import type { ScaleOutOpts } from './scale-out.js';
import { outcomeOf } from './wait.js';

const THUMBPRINT_RE = /^([0-9A-Fa-f]{2}:){19}[0-9A-Fa-f]{2}$/;
/** A DNS name or IPv4 address: dot-separated labels of letters, digits and -, at most 253 characters. */
const HOST_NAME_RE = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
/** vSphere's rule for an inventory name: 1-80 characters; / \ and % are escapes there. */
const VSPHERE_NAME_RE = /^[^/\\%\p{Cc}]{1,80}$/u;

/** `--host NAME[=THUMBPRINT]`, checked here: a malformed one is bad input (exit 2). */
export function parseHosts(values: string[]): { name: string; thumbprint?: string }[] {
  if (!values.length) throw new CliError('give at least one --host NAME[=THUMBPRINT]', EXIT.BAD_INPUT);
  return values.map((v) => {
    const [name, thumbprint, extra] = v.split('=');
    if (!name || extra !== undefined || !HOST_NAME_RE.test(name)) throw new CliError(`--host ${v}: expected a host name (such as esx-5.example.com), optionally =THUMBPRINT`, EXIT.BAD_INPUT);
    if (thumbprint !== undefined && !THUMBPRINT_RE.test(thumbprint)) throw new CliError(`--host ${v}: the thumbprint must be SHA-1 as 20 colon-separated hex pairs (AA:BB:…)`, EXIT.BAD_INPUT);
    return thumbprint ? { name, thumbprint: thumbprint.toUpperCase() } : { name };
  });
}

const ICON: Record<string, string> = { pending: '·', running: '…', done: '✔', failed: '✘', undone: '↺', 'not-undone': '!' };

export function renderScaleOut(p: { steps: { name: string; undo: string; status?: string; detail?: string }[]; plan?: ScaleOutProgress['plan']; rollback?: ScaleOutProgress['rollback']; state?: string; siteBlock?: string }): string {
  const lines: string[] = [];
  if (p.state) lines.push(`state: ${p.state}`);
  for (const h of p.plan?.hosts ?? []) lines.push(h.source === 'ordered' ? `  host ${h.name} (ordered; IBM joins it to vCenter)` : `  host ${h.name}  thumbprint ${h.thumbprint} (${h.source})`);
  if (p.plan?.order) lines.push(`  order: ${orderLine(p.plan.order)}`);
  if (p.plan?.ha) lines.push(`  HA: ${haLine(p.plan.ha)}`);
  if (p.plan?.iks) lines.push(...iksLines(p.plan.iks).map((l) => `  ${l}`));
  if (p.plan?.approvalNeeded) lines.push(`  approval needed: ${p.plan.approvalNeeded}`);
  for (const s of p.steps) lines.push(`  ${ICON[s.status ?? 'pending'] ?? '·'} ${s.name}   [undo: ${s.undo}]${s.detail ? ` — ${s.detail}` : ''}`);
  if (p.siteBlock && p.state === 'awaiting-site-config') lines.push('  site block for the config:', ...p.siteBlock.trimEnd().split('\n').map((l) => `    ${l}`));
  if (p.rollback) {
    lines.push(`  rollback: undone ${p.rollback.undone.length}${p.rollback.failed.length ? `, NOT undone ${p.rollback.failed.length}` : ''}`);
    for (const f of p.rollback.failed) lines.push(`    ! ${f.undo}: ${f.error}`);
  }
  return lines.join('\n');
}

/** What changed between two readings of a run's checklist, as log lines (the whole checklist the first time it has steps). */
export function changeLines(prev: ScaleOutProgress | undefined, p: ScaleOutProgress): string[] {
  if (!prev?.steps.length) return p.steps.length ? [renderScaleOut(p)] : prev?.state === p.state ? [] : [`state: ${p.state}`];
  const out: string[] = [];
  if (prev.state !== p.state) out.push(`state: ${p.state}`);
  for (const [i, s] of p.steps.entries()) {
    const was = prev.steps[i];
    if (was?.status !== s.status || was.detail !== s.detail) out.push(`  ${ICON[s.status] ?? '·'} ${s.name} — ${s.status}${s.detail ? `: ${s.detail}` : ''}`);
  }
  if (p.rollback && !prev.rollback) out.push(...renderScaleOut({ steps: [], rollback: p.rollback }).split('\n'));
  return out;
}

/** The site a printed block is for. */
const siteIn = (block: string) => /^sites:\n {2}([a-z0-9-]+):/.exec(block)?.[1] ?? 'SITE';

async function connect(o: ConnectionOpts & { config?: string }) {
  const { config } = loadConfig(o.config);
  const conn = await connectOrExplain(o, config.temporal);
  return { config, ...conn };
}

export async function startScaleOut(kind: 'addHosts' | 'addCluster', o: ScaleOutOpts & { cluster?: string; name?: string; hostCount?: string }): Promise<void> {
  let hostCount: number | undefined;
  if (o.hostCount !== undefined) {
    hostCount = Number(o.hostCount);
    if (kind !== 'addCluster' || o.host?.length || !Number.isInteger(hostCount) || hostCount < 2 || hostCount > 64) throw new CliError(`--host-count ${o.hostCount}: for add-cluster on a site ordering from IBM, 2 to 64 hosts, without --host`, EXIT.BAD_INPUT);
  }
  const hosts = hostCount === undefined ? parseHosts(o.host ?? []) : [];
  const target = kind === 'addHosts' ? o.cluster! : o.name!;
  if (kind === 'addCluster' && !VSPHERE_NAME_RE.test(target)) throw new CliError(`--name ${target}: a cluster name is 1-80 characters, without / \\ or %`, EXIT.BAD_INPUT);
  const input = { site: o.site, hosts, skipBackup: !!o.skipBackup, requireApproval: !!o.requireApproval, planOnly: !!o.plan, ...(kind === 'addHosts' ? { cluster: target } : { name: target, ...(hostCount ? { hostCount } : {}) }) } as AddHostsInput | AddClusterInput;
  await startRun(o, {
    workflowType: kind,
    input,
    // One change per cluster at a time; a plan changes nothing and gets an id of its own.
    idPart: `${kind === 'addHosts' ? 'add-hosts' : 'add-cluster'}-${o.site}-${target}`,
    operation: kind === 'addHosts' ? 'scale-out-add-hosts' : 'scale-out-add-cluster',
    summary: `${kind === 'addHosts' ? `add ${hosts.length} host(s) to cluster ${target}` : `new cluster ${target} with ${hostCount ?? hosts.length} host(s)`} on site ${o.site}`,
    check: async (sc) => {
      if (hostCount !== undefined && sc.capacity.provider !== 'ibm-vmware-solutions') {
        throw new CliError(`--host-count ${o.hostCount}: site ${o.site} does not order its capacity from IBM (capacity.provider is ${sc.capacity.provider}): name the hosts with --host NAME[=THUMBPRINT]`, EXIT.BAD_INPUT);
      }
      // An IBM-ordered site's clusters are IBM's to name: its run's pre-check asks IBM.
      if (kind === 'addHosts' && sc.capacity.provider === 'vcenter-direct') await requireCluster(o.site, sc, target);
    },
  });
}

/**
 * An unknown cluster is bad input, found before any run starts: vCenter's clusters are asked for
 * here. When this machine cannot ask (a secret that resolves only on the workers, vCenter out of
 * reach), the run's pre-check says it instead, changing nothing.
 */
async function requireCluster(site: string, sc: SiteConfig, cluster: string): Promise<void> {
  const { scaleOutInventory } = await import('../../activities/scale-out/hosts.js');
  let clusters: string[];
  try {
    clusters = await Promise.race([
      scaleOutInventory({ vcenter: sc.vcenter }).then((inv) => inv.clusters.map((c) => c.name)),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 15 s')), 15_000).unref()),
    ]);
  } catch (err) {
    info(`note: could not list vCenter's clusters from here (${(err as Error).message.split('\n')[0]}); the run's pre-check looks for cluster ${cluster}`);
    return;
  }
  if (!clusters.includes(cluster)) throw new CliError(`--cluster ${cluster}: vCenter of site ${site} has no such cluster (clusters: ${clusters.join(', ') || 'none'})`, EXIT.BAD_INPUT);
}

export type IksOpts = Omit<ScaleOutOpts, 'host' | 'skipBackup'> & { cluster: string; pool: string; sizePerZone?: string; zone?: string; privateVlan?: string; publicVlan?: string };

/** `scale-out iks resize|add-zone`: one change per IKS cluster at a time. */
export async function startIksChange(kind: 'resize' | 'add-zone', o: IksOpts): Promise<void> {
  let change: ExpandIksInput['change'];
  if (kind === 'resize') {
    const n = Number(o.sizePerZone);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new CliError(`--size-per-zone ${o.sizePerZone}: give a whole number of workers per zone, at least 1`, EXIT.BAD_INPUT);
    change = { kind, sizePerZone: n };
  } else {
    if (!o.zone || !/^[a-z0-9-]+$/.test(o.zone)) throw new CliError(`--zone ${o.zone ?? ''}: give a zone such as tok04`, EXIT.BAD_INPUT);
    change = { kind, zone: o.zone, ...(o.privateVlan ? { privateVlan: o.privateVlan } : {}), ...(o.publicVlan ? { publicVlan: o.publicVlan } : {}) };
  }
  const input: ExpandIksInput = { site: o.site, cluster: o.cluster, pool: o.pool, change, requireApproval: !!o.requireApproval, planOnly: !!o.plan };
  await startRun(o, {
    workflowType: 'expandIks',
    input,
    idPart: `iks-${o.site}-${o.cluster}`,
    operation: kind === 'resize' ? 'scale-out-iks-resize' : 'scale-out-iks-add-zone',
    summary: `IKS ${o.cluster} pool ${o.pool}: ${kind === 'resize' ? `${change.kind === 'resize' ? change.sizePerZone : ''} worker(s) per zone` : `add zone ${o.zone}`} (site ${o.site})`,
    check: (sc) => {
      if (!sc.iksClusters.some((c) => c.id === o.cluster || c.name === o.cluster)) {
        throw new CliError(`--cluster ${o.cluster}: site ${o.site} links no such IKS cluster (sites.${o.site}.iksClusters: ${sc.iksClusters.map((c) => c.name ?? c.id).join(', ') || 'none'})`, EXIT.BAD_INPUT);
      }
    },
  });
}

export type AddSiteOpts = Omit<ScaleOutOpts, 'host' | 'skipBackup' | 'site'> & { name: string; location: string; hosts?: string; rootDomain?: string };

/** `scale-out add-site`: a new site ordered from IBM Cloud (the site is not in the config yet). */
export async function startAddSite(o: AddSiteOpts): Promise<void> {
  const hosts = o.hosts === undefined ? 3 : Number(o.hosts);
  if (!Number.isInteger(hosts) || hosts < 2 || hosts > 64) throw new CliError(`--hosts ${o.hosts}: the management cluster needs 2 to 64 hosts`, EXIT.BAD_INPUT);
  if (!/^[a-z0-9][a-z0-9-]{0,9}$/.test(o.name)) throw new CliError(`--name ${o.name}: 1–10 lowercase letters, digits or - (IBM names the instance after the site)`, EXIT.BAD_INPUT);
  if (!/^[a-z0-9-]+$/.test(o.location)) throw new CliError(`--location ${o.location}: an IBM Cloud data center such as tok02`, EXIT.BAD_INPUT);
  const input: AddSiteInput = { site: o.name, location: o.location, hosts, requireApproval: !!o.requireApproval, planOnly: !!o.plan, ...(o.rootDomain ? { rootDomain: o.rootDomain } : {}) };
  await startRun({ ...o, site: o.name }, { workflowType: 'addSite', input, idPart: `add-site-${o.name}`, operation: 'scale-out-add-site', summary: `new site ${o.name} in ${o.location}, ordered from IBM Cloud`, newSite: true });
}

/** Starts a scale-out run (id `scale-out-<idPart>`, or a plan's own id), then follows it unless --no-wait. */
async function startRun(
  o: ConnectionOpts & { site: string; config?: string; plan?: boolean; wait: boolean; json?: boolean; requireApproval?: boolean },
  r: { workflowType: string; input: object; idPart: string; operation: string; summary: string; newSite?: boolean; /** What the site's config must allow, checked before Temporal is contacted (bad input: exit 2). */ check?: (sc: SiteConfig) => void | Promise<void> },
): Promise<void> {
  const { config, file } = loadConfig(o.config);
  if (!r.newSite) {
    const sc = siteOf(config, file, o.site);
    await r.check?.(sc);
  }
  const conn = await connectOrExplain(o, config.temporal);
  const { client, connection, namespace } = conn;
  try {
    await requireWorker(conn, o.taskQueue ?? config.temporal.taskQueue, { wait: o.wait || !!o.plan, config: file });
    const workflowId = o.plan ? `scale-out-plan-${r.idPart}-${randomBytes(3).toString('hex')}` : `scale-out-${r.idPart}`;
    let handle: WorkflowHandle;
    try {
      handle = await client.workflow.start(r.workflowType, {
        taskQueue: o.taskQueue ?? config.temporal.taskQueue,
        workflowId,
        args: [r.input],
        workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
        typedSearchAttributes: [
          { key: SddcSite, value: o.site },
          { key: SddcOperation, value: r.operation },
        ],
        staticSummary: `${o.plan ? 'Plan: ' : ''}${r.summary}`,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CliError(`${workflowId} is already running: see \`sddc-ops scale-out status ${workflowId}\``, EXIT.RUN_FAILED);
      throw err;
    }
    const link = uiLink(o.uiUrl ?? config.temporal.uiUrl, namespace, handle.workflowId, (handle as { firstExecutionRunId?: string }).firstExecutionRunId ?? '');
    if (!o.json) info(`started ${handle.workflowId}${link ? `\n  Web UI: ${link}` : ''}`);
    if (!o.wait) {
      if (o.json) printJson({ status: 'started', workflowId: handle.workflowId, ui: link });
      return;
    }
    process.exitCode = await follow(client, handle, o);
  } finally {
    await connection.close();
  }
}

/** Follows a run to its end, printing the checklist as it changes; the exit code. */
async function follow(_client: Client, handle: WorkflowHandle, o: { json?: boolean; requireApproval?: boolean }): Promise<number> {
  let shown = '';
  let last: ScaleOutProgress | undefined;
  let askedApproval = false;
  let askedSite = false;
  const show = async () => {
    try {
      const p = await handle.query(scaleOutProgressQuery);
      if (p.state === 'awaiting-site-config' && !askedSite) {
        askedSite = true;
        info(`add this block to the config (fill in the secret references), then  sddc-ops site ready ${p.siteBlock ? siteIn(p.siteBlock) : 'SITE'} --run ${handle.workflowId}\n\n${p.siteBlock ?? ''}`);
      }
      if (p.state === 'awaiting-approval' && !askedApproval) {
        askedApproval = true;
        info(`waiting for approval: read the plan, then  sddc-ops approve ${handle.workflowId} --by NAME  (or  sddc-ops cancel ${handle.workflowId})`);
      }
      if (o.json) return;
      if (isTty()) {
        // On a terminal the checklist is redrawn in place.
        const text = renderScaleOut(p);
        if (text === shown) return;
        if (shown) process.stderr.write(`\x1b[${shown.split('\n').length}A\x1b[J`);
        info(text);
        shown = text;
      } else {
        // In a log: the checklist once, then a line for each change.
        for (const line of changeLines(last, p)) info(line);
        last = p;
      }
    } catch {
      /* not started yet */
    }
  };
  const timer = setInterval(() => void show(), 1000);
  try {
    const r = (await outcomeOf(() => handle.result())) as AddHostsResult | ExpandIksResult | AddSiteResult | ScaleOutPlanResult;
    clearInterval(timer);
    if (o.json) printJson({ ...r, workflowId: handle.workflowId });
    else if (r.status === 'planned') info(`PLAN (nothing changed):\n${renderScaleOut({ plan: r.plan, steps: r.steps })}`);
    else {
      await show();
      info(
        'instanceId' in r
          ? `done: site ${r.site} (instance ${r.instanceId}); first backup ${r.firstBackup.setId}; schedules ${r.schedules.join(', ') || 'none'}`
          : 'added' in r
          ? `done: ${r.added.length} host(s) in ${r.cluster}; HA ${r.ha.change === 'recomputed' ? r.ha.reason : 'unchanged'}; ${'setId' in r.backup ? `pre-change backup ${r.backup.setId}` : 'pre-change backup SKIPPED'}`
          : `done: ${r.cluster} pool ${r.pool}: ${r.change}; ${r.workers.after} workers ready; etcd recorded before and after (master ${r.etcd.after.masterHealth})`,
      );
    }
    return EXIT.OK;
  } catch (err) {
    clearInterval(timer);
    await show();
    const reason = failureReason(err);
    const end = runEnd(err);
    const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
    const rolledBack = cause instanceof ApplicationFailure && cause.type === 'ScaleOutRolledBack';
    const rollback = rolledBack ? (cause.details?.[0] as ScaleOutProgress['rollback']) : undefined;
    if (o.json) printJson({ status: rolledBack ? 'rolled-back' : end, workflowId: handle.workflowId, reason, ...(cause instanceof ApplicationFailure && cause.type ? { type: cause.type } : {}), ...(rollback ? { rollback } : {}) });
    else info(`${rolledBack ? 'ROLLED BACK' : end.toUpperCase()}: ${reason}`);
    return EXIT.RUN_FAILED;
  }
}

export async function status(run: string, o: ConnectionOpts & { config?: string; json?: boolean }): Promise<void> {
  const { client, connection } = await connect(o);
  try {
    const h = client.workflow.getHandle(run);
    const [p, d] = await Promise.all([h.query(scaleOutProgressQuery), h.describe()]).catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) throw new CliError(`no run ${run}`, EXIT.BAD_INPUT);
      throw err;
    });
    if (o.json) printJson({ workflowId: run, runStatus: d.status.name, ...p });
    else process.stdout.write(`${run} (${d.status.name})\n${renderScaleOut(p)}\n`);
  } finally {
    await connection.close();
  }
}

export async function approve(run: string, o: ConnectionOpts & { by: string; config?: string; json?: boolean }): Promise<void> {
  const { client, connection } = await connect(o);
  try {
    const r = await client.workflow
      .getHandle(run)
      .executeUpdate(approveUpdate, { args: [{ by: o.by }] })
      .catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) throw new CliError(`no run ${run}`, EXIT.BAD_INPUT);
        const why = (err as { cause?: Error }).cause?.message ?? (err as Error).message;
        throw new CliError(`approval refused: ${why}`, EXIT.BAD_INPUT);
      });
    if (o.json) printJson({ workflowId: run, ...r });
    else info(`${run} approved by ${r.approvedBy}`);
  } finally {
    await connection.close();
  }
}

export async function cancel(run: string, o: ConnectionOpts & { config?: string; json?: boolean }): Promise<void> {
  const { client, connection } = await connect(o);
  try {
    const h = client.workflow.getHandle(run);
    const d = await h.describe().catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) throw new CliError(`no run ${run}`, EXIT.BAD_INPUT);
      throw err;
    });
    // Temporal takes a cancel of a closed run without a word; the operator must hear it did nothing.
    if (d.status.name !== 'RUNNING') throw new CliError(`${run} has already ended (${d.status.name}): nothing to cancel (what a finished run changed stays as it is)`, EXIT.BAD_INPUT);
    await h.cancel();
    if (o.json) printJson({ workflowId: run, status: 'cancel-requested' });
    else if (d.type === 'restoreSite' || d.type === 'restoreDrill') info(`cancel requested: ${run} stops the restore jobs it started on the products; the appliances it restored into must be redeployed before another restore`);
    else info(`cancel requested: ${run} undoes what it changed, in reverse (follow with: sddc-ops scale-out status ${run})`);
  } finally {
    await connection.close();
  }
}
