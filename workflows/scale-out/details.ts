import type { ScaleOutProgress, ScaleOutStepStatus } from './common.js';

const MARK: Record<ScaleOutStepStatus, string> = { pending: ' ', running: ' ', done: 'x', failed: ' ', undone: ' ', 'not-undone': ' ' };
const SAYS: Record<ScaleOutStepStatus, string> = { pending: 'pending', running: 'running…', done: 'done', failed: '✘ failed', undone: '↺ undone', 'not-undone': '⚠ NOT undone' };

/** The run's page in the Web UI (Markdown): the plan, a checklist of the steps with their undos, and the rollback. */
export function scaleOutDetails(what: string, p: ScaleOutProgress): string {
  const out = [`**${what}** — ${p.state}`];
  if (p.plan) {
    out.push('', '**Hosts**', ...p.plan.hosts.map((h) => `- \`${h.name}\` thumbprint \`${h.thumbprint}\` (${h.source})`));
    out.push('', `**HA admission control**: ${p.plan.ha.change === 'recomputed' ? p.plan.ha.reason : `unchanged — ${p.plan.ha.reason}`}`);
  }
  if (p.steps.length) {
    out.push('', '**Steps**', ...p.steps.map((s) => `- [${MARK[s.status]}] ${s.name} — ${SAYS[s.status]}${s.detail ? `: ${s.detail}` : ''} _(undo: ${s.undo})_`));
  }
  if (p.state === 'rolling-back') out.push('', '**Rollback** — undoing the steps done, newest first…');
  if (p.rollback) {
    out.push('', `**Rollback** — ${p.rollback.undone.length} undone${p.rollback.failed.length ? `, ${p.rollback.failed.length} NOT undone: fix by hand` : ''}`);
    out.push(...p.rollback.undone.map((u) => `- ↺ ${u.undo}`));
    out.push(...p.rollback.failed.map((f) => `- ⚠ ${f.undo} — ${f.error}`));
  }
  return out.join('\n');
}
