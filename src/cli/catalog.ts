import type { Command } from 'commander';
import { loadConfig, siteOf } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import { withSftp } from '../providers/sftp/client.js';
import { sftpEndpoint } from '../../activities/endpoints.js';
import { BadSetIdError, checkedSetId, filesOf, readCatalog, readManifest, SetNotFoundError, type Catalog } from '../catalog/catalog.js';
import { catalogStatuses, pruneOrphans, pruneTarget, type RunLiveness } from '../catalog/prune.js';
import { SftpStore } from '../catalog/store.js';
import { hasRules, retentionPolicyOf } from '../domain/retention.js';
import { catalogStatus, type BackupSetManifest, type CatalogStatus } from '../domain/backup-set.js';
import { CliError, EXIT, humanBytes, info, printJson, formatTable } from './output.js';

/** The site a set id belongs to: "<site>-<YYYYMMDD>T<HHMMSS>Z". A set id that is not a plain name is bad input. */
/** A set id given on the command line: one that is not a plain name is bad input (exit 2). */
export function setIdArg(setId: string): string {
  try {
    return checkedSetId(setId);
  } catch (err) {
    if (err instanceof BadSetIdError) throw new CliError(err.message, EXIT.BAD_INPUT);
    throw err;
  }
}

export function siteOfSet(config: Config, file: string, setId: string, site?: string): string {
  setIdArg(setId);
  if (site) {
    siteOf(config, file, site);
    return site;
  }
  const m = /^(.+)-\d{8}T\d{6}Z$/.exec(setId);
  if (!m || !config.sites[m[1]!]) {
    throw new CliError(`cannot tell the site of "${setId}" (set ids look like <site>-20261125T020000Z); pass --site`, EXIT.BAD_INPUT);
  }
  return m[1]!;
}

/**
 * Asks Temporal whether the runs of `running` sets still run, when it can be reached within a
 * couple of seconds; the catalog works without it (a run past its deadline is abandoned anyway).
 */
async function withLiveness<T>(config: Config, catalog: Catalog, fn: (liveness: RunLiveness | undefined) => Promise<T>): Promise<T> {
  if (!catalog.sets.some((m) => m.status === 'running')) return fn(undefined);
  // Loaded only here: most catalogs have no running set, and Temporal's client takes a while to load.
  const [{ connectClient }, { runLivenessFrom }] = await Promise.all([import('../temporal/connection.js'), import('../temporal/run-liveness.js')]);
  let conn: Awaited<ReturnType<typeof connectClient>> | undefined;
  try {
    conn = await connectClient({ configAddress: config.temporal.address, configNamespace: config.temporal.namespace, encryption: config.temporal.encryption, connectTimeoutMs: 2_000 });
  } catch {
    info('note: Temporal is not reachable; a running set counts as abandoned only once past its deadline');
  }
  try {
    return await fn(conn ? runLivenessFrom(conn.client) : undefined);
  } finally {
    await conn?.connection.close();
  }
}

/** Exactly one of --site S and --all-sites; checked before the config is read (a usage error, exit 2). */
export function siteFlags(o: { site?: string; allSites?: boolean }): void {
  if (o.site && o.allSites) throw new CliError('give --site or --all-sites, not both', EXIT.BAD_INPUT);
  if (!o.site && !o.allSites) throw new CliError('say which site: --site NAME, or --all-sites', EXIT.BAD_INPUT);
}

/** The sites a command covers: --site S (which must be in the config) or --all-sites. */
export function sitesArg(config: Config, file: string, o: { site?: string; allSites?: boolean }): string[] {
  siteFlags(o);
  if (o.allSites) return Object.keys(config.sites);
  siteOf(config, file, o.site!);
  return [o.site!];
}

/** `backup list`, `backup show`, `backup prune`: read the SFTP target directly; Temporal only to tell live runs from abandoned ones. */
export function addCatalogCommands(backup: Command): void {
  backup
    .command('list')
    .alias('get')
    .description(
      'List the backup sets on a site\'s SFTP target, newest first, from their backup-set.json manifests (works without Temporal). ' +
        'Status: complete (verified), damaged (its latest verify failed), running, abandoned (its run ended without finishing the set), failed, cancelled, deleting (a prune was interrupted).',
    )
    .option('--site <name>', 'site name from the config file')
    .option('--all-sites', 'every site in the config (a target two sites share is read once)')
    .option('--config <file>', 'config file')
    .option('--json', 'machine-readable output')
    .action(async (o: { site?: string; allSites?: boolean; config?: string; json?: boolean }) => {
      siteFlags(o);
      const { config, file } = loadConfig(o.config);
      const sites = sitesArg(config, file, o);
      const seen = new Set<string>();
      const all: { site: string; m: BackupSetManifest; status: CatalogStatus }[] = [];
      const unreadable: { setId: string; reason: string }[] = [];
      for (const site of sites) {
        const target = config.sites[site]!.backupTarget;
        const where = `${target.host}:${target.port}${target.directory}`;
        if (seen.has(where)) continue;
        seen.add(where);
        const catalog = await withSftp(await targetEndpoint(target), (s) => readCatalog(new SftpStore(s, target.directory)));
        const statuses = await withLiveness(config, catalog, (l) => catalogStatuses(catalog, Date.now(), l));
        for (const m of catalog.sets) all.push({ site: m.site, m, status: statuses.get(m.setId)! });
        unreadable.push(...catalog.unreadable);
        if (!o.json && catalog.sets.length === 0) info(`no backup sets under ${target.directory} on ${target.host}`);
      }
      if (o.json) {
        printJson({
          sets: all.map(({ m, status }) => ({
            setId: m.setId,
            ...(o.allSites ? { site: m.site } : {}),
            status,
            startedAt: m.startedAt,
            endedAt: m.endedAt,
            verifiedAt: m.verifiedAt,
            ...(m.restoreTested ? { restoreTested: m.restoreTested } : {}),
            files: m.totals.files,
            bytes: m.totals.bytes,
            failureReason: m.failureReason,
            ...(status === 'damaged' ? { problems: m.verifications?.at(-1)?.problems } : {}),
          })),
          unreadable,
        });
      } else {
        if (all.length) {
          const rows = [[...(o.allSites ? ['SITE'] : []), 'SET ID', 'STARTED', 'STATUS', 'FILES', 'SIZE', 'VERIFIED', 'RESTORE-TESTED']];
          for (const { m, status } of all) {
            rows.push([
              ...(o.allSites ? [m.site] : []),
              m.setId,
              m.startedAt.slice(0, 19) + 'Z',
              status,
              String(m.totals.files),
              humanBytes(m.totals.bytes),
              m.verifiedAt ? m.verifiedAt.slice(0, 19) + 'Z' : '-',
              m.restoreTested ? m.restoreTested.at.slice(0, 19) + 'Z' : '-',
            ]);
          }
          process.stdout.write(formatTable(rows) + '\n');
        }
        for (const u of unreadable) info(`warning: ${u.setId}: unreadable manifest (${u.reason})`);
      }
      if (unreadable.length) process.exitCode = EXIT.RUN_FAILED;
    });

  backup
    .command('show <set>')
    .alias('describe')
    .description('Show one backup set, its product backups and files (works without Temporal)')
    .option('--site <name>', 'site (default: from the set id)')
    .option('--config <file>', 'config file')
    .option('--json', 'the manifest as JSON, with the catalog status as catalogStatus')
    .action(async (setId: string, o: { site?: string; config?: string; json?: boolean }) => {
      const { config, file } = loadConfig(o.config);
      const site = siteOfSet(config, file, setId, o.site);
      const target = config.sites[site]!.backupTarget;
      let m;
      try {
        m = await withSftp(await targetEndpoint(target), (s) => readManifest(new SftpStore(s, target.directory), setId));
      } catch (err) {
        if (err instanceof SetNotFoundError) throw new CliError(`${err.message} — see \`sddc-ops backup list --site ${site}\``, EXIT.BAD_INPUT);
        throw err;
      }
      const manifest = m;
      const status: CatalogStatus = await withLiveness(config, { sets: [manifest], unreadable: [] }, async (l) =>
        catalogStatus(manifest, manifest.status === 'running' && l ? await l(manifest).catch(() => undefined) : undefined, Date.now()),
      );
      if (o.json) return printJson({ ...m, catalogStatus: status });
      const lines = [
        `set        ${m.setId} (site ${m.site})`,
        `status     ${status}${status !== m.status ? ` (manifest says ${m.status})` : ''}${m.failureReason ? ` — ${m.failureReason}` : ''}`,
        `time       ${m.startedAt} → ${m.endedAt || '(running)'}`,
        `verified   ${m.verifiedAt ?? 'never'}`,
        `restore-tested ${m.restoreTested ? `${m.restoreTested.at} by drill ${m.restoreTested.drillRun}` : 'never'}`,
        `target     sftp://${m.target.host}:${m.target.port}${m.target.directory} (${m.target.hostKeyFingerprint})`,
        `workflow   ${m.workflow.workflowId} / ${m.workflow.runId}`,
      ];
      if (m.nsx) lines.push(`NSX        backup ${m.nsx.backupId ?? '(id not reported)'}, version ${m.nsx.productVersion ?? '?'}, passphrase ${m.nsx.passphraseRef}`);
      if (m.vcenter) lines.push(`vCenter    job ${m.vcenter.jobId}, version ${m.vcenter.version ?? '?'}, backup password ${m.vcenter.backupPasswordRef}`);
      for (const f of [...(m.nsx?.folders ?? []), ...(m.vcenter?.folders ?? [])]) lines.push(`folder     ${f}`);
      for (const w of m.warnings ?? []) lines.push(`WARNING    ${w}`);
      if (m.insecureEndpoints?.length) lines.push(`INSECURE   made without checking the TLS certificate of ${m.insecureEndpoints.join(', ')} (insecure: true in the config)`);
      for (const k of m.iks ?? []) {
        lines.push(`IKS        ${k.name} (${k.clusterId}) master ${k.masterVersion} ${k.masterStatus}/${k.masterHealth}; etcd backed up by the provider (a record, not a backup we hold)`);
      }
      for (const [cluster, a] of Object.entries(m.appData ?? {})) {
        lines.push(`app data   ${cluster}: confirmed by ${a.acknowledgedBy} at ${a.at}${a.evidence ? ` — ${a.evidence}` : ''}`);
      }
      const lastDrill = m.drills?.at(-1);
      if (lastDrill && !lastDrill.ok) lines.push(`DRILL FAILED at ${lastDrill.at} (${lastDrill.drillRun}): ${lastDrill.problems.join('; ')}`);
      if (m.captured) lines.push(`captured   ${m.captured.nsx.length} NSX and ${m.captured.vcenter.length} vCenter objects at ${m.captured.at} (drills compare with them)`);
      const last = m.verifications?.at(-1);
      if (last && !last.ok) lines.push(`DAMAGED    at ${last.at}: ${last.problems.join('; ')}`);
      const folders = [...(m.nsx?.folders ?? []), ...(m.vcenter?.folders ?? [])];
      if (m.status !== 'complete' && !filesOf(m).length) lines.push(`files      none verified${folders.length ? ': retention frees the product folders above' : ''}`);
      else lines.push(`files      ${m.totals.files}, ${humanBytes(m.totals.bytes)}`);
      for (const f of filesOf(m)) lines.push(`  ${f.sha256.slice(0, 16)}…  ${humanBytes(f.size).padStart(10)}  ${f.path}`);
      process.stdout.write(lines.join('\n') + '\n');
    });

  backup
    .command('prune')
    .description(
      'Apply the target\'s retention policy (backupTarget.retention): delete expired sets — only files under the target\'s nsx/ and vcenter/ ' +
        'folders that their manifests list or record, never the newest complete set, never a running one; each set is marked deleting first ' +
        'and its manifest goes last. Damaged, failed, cancelled and abandoned sets never count as good. Also runs after every successful backup. ' +
        'With --orphans: product backup folders that no manifest refers to and that are older than the newest set.',
    )
    .requiredOption('--site <name>', 'site name from the config file')
    .option('--config <file>', 'config file')
    .option('--dry-run', 'show what would be deleted and why, delete nothing')
    .option('--orphans', 'list (and, without --dry-run, delete) NSX/vCenter backup folders no manifest refers to; folders written by the products\' own schedulers show here too, so look with --dry-run first')
    .option('--json', 'machine-readable report')
    .addHelpText('after', '\nExit codes: 0 done; 1 a manifest was refused, unreadable, or left for the next prune; 2 bad input.\n')
    .action(async (o: { site: string; config?: string; dryRun?: boolean; orphans?: boolean; json?: boolean }) => {
      const { config, file } = loadConfig(o.config);
      const target = siteOf(config, file, o.site).backupTarget;
      const verb = o.dryRun ? 'would delete' : 'deleted';
      if (o.orphans) {
        const r = await withSftp(await targetEndpoint(target), (s) => pruneOrphans(new SftpStore(s, target.directory), { dryRun: !!o.dryRun }));
        if (o.json) printJson(r);
        else {
          for (const x of r.orphans) info(`orphan ${x.folder} (started ${x.startedAt}): ${x.files} file(s), ${humanBytes(x.bytes)}`);
          if (r.refused) info(`nothing deleted: ${r.refused}`);
          else info(`${verb} ${r.orphans.length} orphaned folder(s), ${r.files.length} file(s), ${humanBytes(r.bytes)}`);
        }
        if (r.refused) process.exitCode = EXIT.RUN_FAILED;
        return;
      }
      const policy = retentionPolicyOf(target);
      if (!policy || !hasRules(policy)) {
        throw new ConfigError(file, [`sites.${o.site}.backupTarget.retention: not set, so nothing is ever pruned; add keepLast, daily, weekly, monthly or maxAge`]);
      }
      const r = await withSftp(await targetEndpoint(target), async (s) => {
        const store = new SftpStore(s, target.directory);
        return withLiveness(config, await readCatalog(store), (liveness) => pruneTarget(store, policy, { dryRun: !!o.dryRun, nowMs: Date.now(), liveness }));
      });
      const refused = r.sets.filter((x) => x.refused);
      if (o.json) printJson(r);
      else {
        for (const e of r.decision.expire) info(`${o.dryRun ? 'would expire' : 'expired'} ${e.setId}: ${e.reason}`);
        for (const k of r.decision.keep) info(`keep ${k.setId}: ${k.reasons.join(', ')}`);
        for (const x of refused) info(`REFUSED ${x.setId}: its manifest ${x.refused}; nothing of it was deleted`);
        for (const x of r.skipped) info(`left ${x.setId} for the next prune: ${x.reason}`);
        for (const u of r.unreadable) info(`warning: ${u.setId}: unreadable manifest (${u.reason})`);
        info(`${verb} ${r.files.length} file(s), ${humanBytes(r.bytes)}`);
      }
      if (refused.length || r.skipped.length || r.unreadable.length) process.exitCode = EXIT.RUN_FAILED;
    });
}

/** The target's SFTP endpoint, its secrets resolved; one that does not resolve is bad input (exit 2). */
/**
 * Before a run is started for a named set: a set the target does not hold is bad input (exit 2),
 * found here rather than by a run that fails. When this machine cannot read the target (its
 * secret resolves only on the workers, the server is out of reach), the run finds out instead.
 */
export async function requireSetOnTarget(config: Config, site: string, setId: string): Promise<void> {
  const target = config.sites[site]!.backupTarget;
  try {
    await withSftp(await sftpEndpoint(target), (s) => readManifest(new SftpStore(s, target.directory), setId));
  } catch (err) {
    if (err instanceof SetNotFoundError) throw new CliError(`${err.message}: see the sets with sddc-ops backup list --site ${site}`, EXIT.BAD_INPUT);
    info(`note: could not read the target from here (${(err as Error).message.split('\n')[0]}); the run looks for ${setId} itself`);
  }
}

export async function targetEndpoint(target: Parameters<typeof sftpEndpoint>[0]) {
  try {
    return await sftpEndpoint(target);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.BAD_INPUT);
  }
}
