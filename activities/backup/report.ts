import { Context } from '@temporalio/activity';
import type { BackupTarget } from '../../src/config/schema.js';
import { readCatalog } from '../../src/catalog/catalog.js';
import { catalogStatuses } from '../../src/catalog/prune.js';
import { SftpStore } from '../../src/catalog/store.js';
import { siteHealth } from '../../src/report/health.js';
import { reportHtml } from '../../src/report/html.js';
import { runLivenessFrom } from '../../src/temporal/run-liveness.js';
import { withTargetSftp } from '../endpoints.js';
import { guarded } from '../failures.js';
import { recordNewestGoodAge } from '../metrics.js';

/** Writes the site's backup-health report beside its backups (report/index.html): it outlives the orchestrator, like the catalog. */
export async function writeSiteReport(i: { target: BackupTarget; site: string }): Promise<{ path: string }> {
  return guarded(async () =>
    withTargetSftp(i.target, async (s) => {
      const store = new SftpStore(s, i.target.directory);
      const catalog = await readCatalog(store);
      const statuses = await catalogStatuses(catalog, Date.now(), runLivenessFrom(Context.current().client));
      const health = siteHealth(i.site, catalog.sets, statuses, Date.now());
      recordNewestGoodAge(i.site, health.newestGood ? (Date.now() - Date.parse(health.newestGood.startedAt)) / 1000 : undefined);
      const html = await reportHtml([health]);
      await store.mkdirp('report');
      await store.writeAtomic('report/index.html', html);
      return { path: `${i.target.directory.replace(/\/+$/, '')}/report/index.html` };
    }),
  );
}
