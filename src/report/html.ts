import type { SiteHealth } from './health.js';

/**
 * The report as one self-contained HTML file: tables, and charts made with Vega-Lite and rendered
 * to SVG here (no script, no network when it is opened). Vega is loaded only when a report is made.
 */
async function chartSvg(title: string, values: object[], y: { field: string; title: string }): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const spec = vl.compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 560,
    height: 180,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'startedAt', type: 'temporal', title: 'backup started' },
      y: { field: y.field, type: 'quantitative', title: y.title },
      color: { field: 'status', type: 'nominal', title: 'status' },
      tooltip: [{ field: 'setId' }, { field: y.field }],
    },
  } as never).spec;
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export async function reportHtml(sites: SiteHealth[]): Promise<string> {
  const parts: string[] = [];
  for (const h of sites) {
    const points = h.series.map((p) => ({ ...p, megabytes: Math.round((p.bytes / 1_048_576) * 1000) / 1000 }));
    const rows = [
      ['newest good set', h.newestGood ? `${h.newestGood.setId} (${h.newestGood.ageHours} h ago)` : 'none'],
      ['newest restore-tested set', h.newestRestoreTested ? `${h.newestRestoreTested.setId} (drill ${h.newestRestoreTested.drillRun}, ${h.newestRestoreTested.at})` : 'none'],
      ['success rate, 30 days', h.successRate.days30 !== undefined ? `${h.successRate.days30} % of ${h.successRate.runs30} runs` : 'no runs'],
      ['success rate, 90 days', h.successRate.days90 !== undefined ? `${h.successRate.days90} % of ${h.successRate.runs90} runs` : 'no runs'],
      ['next scheduled run', h.nextScheduledRun ?? 'unknown (no schedule, or Temporal not reachable)'],
      ['app data not confirmed', h.pendingAppData.join(', ') || 'none'],
    ];
    parts.push(
      `<section data-site="${esc(h.site)}"><h2>Site ${esc(h.site)}</h2>`,
      `<table>${rows.map(([k, v]) => `<tr><th>${esc(k!)}</th><td>${esc(v!)}</td></tr>`).join('')}</table>`,
      `<figure class="chart" data-chart="size" data-points="${points.length}">${await chartSvg('Backup set size', points, { field: 'megabytes', title: 'MiB' })}</figure>`,
      `<figure class="chart" data-chart="duration" data-points="${points.length}">${await chartSvg('Backup duration', points, { field: 'durationMinutes', title: 'minutes' })}</figure>`,
      h.problems.length ? `<h3>Damaged, failed and abandoned sets</h3><ul>${h.problems.map((p) => `<li>${esc(p.setId)} — ${esc(p.status)}${p.reason ? `: ${esc(p.reason)}` : ''}</li>`).join('')}</ul>` : '<p>No damaged, failed or abandoned sets.</p>',
      '</section>',
    );
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>sddc-ops backup health</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}th{background:#f4f4f4}figure{margin:1em 0}</style>
</head><body><h1>Backup health</h1><p>Generated ${esc(new Date().toISOString())} by sddc-ops from the backup-set manifests.</p>${parts.join('\n')}</body></html>
`;
}
