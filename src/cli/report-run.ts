/** `sddc-ops report`: backup health at a glance (loaded when it runs). */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { readCatalog } from '../catalog/catalog.js';
import { catalogStatuses } from '../catalog/prune.js';
import { SftpStore } from '../catalog/store.js';
import { withSftp } from '../providers/sftp/client.js';
import { siteHealth, type SiteHealth } from '../report/health.js';
import { reportHtml } from '../report/html.js';
import { scheduleId } from '../schedules/schedules.js';
import { connectClient } from '../temporal/connection.js';
import { runLivenessFrom } from '../temporal/run-liveness.js';
import { siteFlags, sitesArg, targetEndpoint } from './catalog.js';
import { EXIT, info, printJson } from './output.js';
import type { ReportOpts } from './report.js';

export async function report(o: ReportOpts): Promise<void> {
  siteFlags(o);
  const { config, file } = loadConfig(o.config);
  const sites = sitesArg(config, file, o);
  // Temporal is optional here: it tells live runs from abandoned ones and when the next backup is due.
  const temporal = await connectClient({ address: o.address, namespace: o.namespace, profile: o.profile, configAddress: config.temporal.address, configNamespace: config.temporal.namespace, encryption: config.temporal.encryption, connectTimeoutMs: 2_000 }).catch(() => undefined);
  const out: SiteHealth[] = [];
  try {
    for (const site of sites) {
      const target = config.sites[site]!.backupTarget;
      const catalog = await withSftp(await targetEndpoint(target), (s) => readCatalog(new SftpStore(s, target.directory)));
      const statuses = await catalogStatuses(catalog, Date.now(), temporal ? runLivenessFrom(temporal.client) : undefined);
      const next = temporal ? await temporal.client.schedule.getHandle(scheduleId(site, 'backup')).describe().then((d) => d.info.nextActionTimes[0], () => undefined) : undefined;
      out.push(siteHealth(site, catalog.sets, statuses, Date.now(), next));
    }
  } finally {
    await temporal?.connection.close();
  }
  if (o.html) {
    writeFileSync(o.html, await reportHtml(out));
    if (!o.json) info(`report written to ${resolve(o.html)}`);
  }
  if (o.json) return printJson({ sites: out });
  for (const h of out) {
    process.stdout.write(
      [
        `site ${h.site}`,
        `  newest good set       ${h.newestGood ? `${h.newestGood.setId}, ${h.newestGood.ageHours} h ago` : 'NONE'}`,
        `  newest restore-tested ${h.newestRestoreTested ? `${h.newestRestoreTested.setId} (${h.newestRestoreTested.at})` : 'none'}`,
        `  success rate          ${h.successRate.days30 ?? '-'} % of ${h.successRate.runs30} runs (30 d), ${h.successRate.days90 ?? '-'} % of ${h.successRate.runs90} (90 d)`,
        `  next scheduled run    ${h.nextScheduledRun ?? 'unknown'}`,
        `  problems              ${h.problems.length ? h.problems.map((p) => `${p.setId} ${p.status}`).join('; ') : 'none'}`,
        `  app data unconfirmed  ${h.pendingAppData.join(', ') || 'none'}`,
      ].join('\n') + '\n',
    );
  }
  if (out.some((h) => !h.newestGood)) process.exitCode = EXIT.RUN_FAILED;
}
