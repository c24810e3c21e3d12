/** What the restore commands do (loaded when they run). */
import { loadConfig, siteOf } from '../config/load.js';
import { BadSetIdError, checkedSetId, readCatalog } from '../catalog/catalog.js';
import { SftpStore } from '../catalog/store.js';
import { withSftp } from '../providers/sftp/client.js';
import { targetEndpoint } from './catalog.js';
import { pickRestoreSet, RestorePlanError, restoreRunbook, runbookMarkdown } from '../restore/runbook.js';
import { CliError, EXIT, info, printJson } from './output.js';

export async function restorePlan(o: { site: string; set?: string; force?: boolean; config?: string; json?: boolean }): Promise<void> {
  const { config, file } = loadConfig(o.config);
  const site = siteOf(config, file, o.site);
  if (o.set) {
    try {
      checkedSetId(o.set);
    } catch (err) {
      if (err instanceof BadSetIdError) throw new CliError(err.message, EXIT.BAD_INPUT);
      throw err;
    }
  }
  const target = site.backupTarget;
  const catalog = await withSftp(await targetEndpoint(target), (s) => readCatalog(new SftpStore(s, target.directory)));
  for (const u of catalog.unreadable) info(`warning: ${u.setId}: unreadable manifest (${u.reason})`);
  let picked;
  try {
    picked = pickRestoreSet(catalog.sets, o.site, { setId: o.set, force: o.force, nowMs: Date.now() });
  } catch (err) {
    if (err instanceof RestorePlanError) throw new CliError(err.message, o.set ? EXIT.BAD_INPUT : EXIT.RUN_FAILED);
    throw err;
  }
  const runbook = restoreRunbook(picked.manifest, site, picked);
  if (o.json) printJson(runbook);
  else process.stdout.write(runbookMarkdown(runbook));
}
