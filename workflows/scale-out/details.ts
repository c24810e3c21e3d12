import type { HaPlan } from '../../src/domain/ha-admission.js';
import type { CapacityOrder, IksPlan, ScaleOutProgress, ScaleOutStepStatus } from './common.js';

/** The HA line of a plan. */
export function haLine(ha: HaPlan): string {
  return ha.change === 'recomputed' ? ha.reason : `unchanged — ${ha.reason}`;
}

/** What an order costs, as IBM quoted it when the order was verified. */
export function orderLine(o: CapacityOrder): string {
  return `IBM Cloud for VMware Solutions, instance ${o.instance}: ${o.price ? `${o.price.total_monthly} ${o.price.currency} a month` : 'no price quoted'}`;
}

/** The IKS part of a plan, a line per fact (the Web UI page and the CLI show the same). */
export function iksLines(p: IksPlan): string[] {
  return [
    `cluster ${p.cluster}, worker pool ${p.pool}: ${p.change}`,
    `workers: ${p.workers.before} → ${p.workers.after}`,
    p.ack ? `app-data backups last acknowledged by ${p.ack.by} at ${p.ack.at} (set ${p.ack.setId})` : 'app-data backups never acknowledged by the owners',
  ];
}

const MARK: Record<ScaleOutStepStatus, string> = { pending: ' ', running: ' ', done: 'x', failed: ' ', undone: ' ', 'not-undone': ' ' };
const SAYS: Record<ScaleOutStepStatus, string> = { pending: 'pending', running: 'running…', done: 'done', failed: '✘ failed', undone: '↺ undone', 'not-undone': '⚠ NOT undone' };

/** The run's page in the Web UI (Markdown): the plan, a checklist of the steps with their undos, and the rollback. */
export function scaleOutDetails(what: string, p: ScaleOutProgress): string {
  const out = [`**${what}** — ${p.state}`];
  if (p.plan?.hosts?.length) out.push('', '**Hosts**', ...p.plan.hosts.map((h) => (h.source === 'ordered' ? `- \`${h.name}\` (ordered; IBM joins it to vCenter)` : `- \`${h.name}\` thumbprint \`${h.thumbprint}\` (${h.source})`)));
  if (p.plan?.order) out.push('', `**Order**: ${orderLine(p.plan.order)}`);
  if (p.plan?.ha) out.push('', `**HA admission control**: ${haLine(p.plan.ha)}`);
  if (p.plan?.iks) out.push('', '**IKS**', ...iksLines(p.plan.iks).map((l) => `- ${l}`));
  if (p.plan?.approvalNeeded) out.push('', `**Approval needed**: ${p.plan.approvalNeeded}`);
  if (p.steps.length) {
    out.push('', '**Steps**', ...p.steps.map((s) => `- [${MARK[s.status]}] ${s.name} — ${SAYS[s.status]}${s.detail ? `: ${s.detail}` : ''} _(undo: ${s.undo})_`));
  }
  if (p.siteBlock) out.push('', `**Site block for the config**${p.state === 'awaiting-site-config' ? ' — add it, then `sddc-ops site ready`' : ''}`, '```yaml', p.siteBlock.trimEnd(), '```');
  if (p.state === 'rolling-back') out.push('', '**Rollback** — undoing the steps done, newest first…');
  if (p.rollback) {
    out.push('', `**Rollback** — ${p.rollback.undone.length} undone${p.rollback.failed.length ? `, ${p.rollback.failed.length} NOT undone: fix by hand` : ''}`);
    out.push(...p.rollback.undone.map((u) => `- ↺ ${u.undo}`));
    out.push(...p.rollback.failed.map((f) => `- ⚠ ${f.undo} — ${f.error}`));
  }
  return out.join('\n');
}
