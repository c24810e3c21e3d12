import type { Command } from 'commander';
import { loadConfig, siteOf } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../config/load.js';
import { withSftp } from '../providers/sftp/client.js';
import { sftpEndpoint } from '../../activities/endpoints.js';
import { filesOf, readCatalog, readManifest, SetNotFoundError } from '../catalog/catalog.js';
import { pruneTarget } from '../catalog/prune.js';
import { retentionPolicyOf } from '../../activities/catalog.js';
import { hasRules } from '../domain/retention.js';
import { CliError, EXIT, humanBytes, info, printJson } from './output.js';

/** The site a set id belongs to: "<site>-<YYYYMMDD>T<HHMMSS>Z". */
export function siteOfSet(config: Config, file: string, setId: string, site?: string): string {
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

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** `backup list`, `backup show`, `backup prune`: read the SFTP target directly, no Temporal needed. */
export function addCatalogCommands(backup: Command): void {
  backup
    .command('list')
    .description('List the backup sets on a site\'s SFTP target, newest first, from their backup-set.json manifests (works without Temporal)')
    .requiredOption('--site <name>', 'site name from the config file')
    .option('--config <file>', 'config file')
    .option('--json', 'machine-readable output')
    .action(async (o: { site: string; config?: string; json?: boolean }) => {
      const { config, file } = loadConfig(o.config);
      const target = siteOf(config, file, o.site).backupTarget;
      const catalog = await withSftp(await endpoint(target), (s) => readCatalog(s, target.directory));
      if (o.json) {
        printJson({
          sets: catalog.sets.map((m) => ({ setId: m.setId, status: m.status, startedAt: m.startedAt, endedAt: m.endedAt, verifiedAt: m.verifiedAt, files: m.totals.files, bytes: m.totals.bytes, failureReason: m.failureReason })),
          unreadable: catalog.unreadable,
        });
      } else {
        if (catalog.sets.length === 0) info(`no backup sets under ${target.directory} on ${target.host}`);
        else {
          const rows = [['SET ID', 'STARTED', 'STATUS', 'FILES', 'SIZE', 'VERIFIED']];
          for (const m of catalog.sets) rows.push([m.setId, m.startedAt.slice(0, 19) + 'Z', m.status, String(m.totals.files), humanBytes(m.totals.bytes), m.verifiedAt ? m.verifiedAt.slice(0, 19) + 'Z' : '-']);
          process.stdout.write(table(rows) + '\n');
        }
        for (const u of catalog.unreadable) info(`warning: ${u.setId}: unreadable manifest (${u.reason})`);
      }
      if (catalog.unreadable.length) process.exitCode = EXIT.RUN_FAILED;
    });

  backup
    .command('show <set>')
    .description('Show one backup set and its files (works without Temporal)')
    .option('--site <name>', 'site (default: from the set id)')
    .option('--config <file>', 'config file')
    .option('--json', 'the manifest as JSON')
    .action(async (setId: string, o: { site?: string; config?: string; json?: boolean }) => {
      const { config, file } = loadConfig(o.config);
      const site = siteOfSet(config, file, setId, o.site);
      const target = config.sites[site]!.backupTarget;
      let m;
      try {
        m = await withSftp(await endpoint(target), (s) => readManifest(s, target.directory, setId));
      } catch (err) {
        if (err instanceof SetNotFoundError) throw new CliError(`${err.message} — see \`sddc-ops backup list --site ${site}\``, EXIT.BAD_INPUT);
        throw err;
      }
      if (o.json) return printJson(m);
      const lines = [
        `set        ${m.setId} (site ${m.site})`,
        `status     ${m.status}${m.failureReason ? ` — ${m.failureReason}` : ''}`,
        `time       ${m.startedAt} → ${m.endedAt || '(running)'}`,
        `verified   ${m.verifiedAt ?? 'never'}`,
        `target     sftp://${m.target.host}:${m.target.port}${m.target.directory} (${m.target.hostKeyFingerprint})`,
        `workflow   ${m.workflow.workflowId} / ${m.workflow.runId}`,
      ];
      if (m.nsx) lines.push(`NSX        backup ${m.nsx.backupId}, version ${m.nsx.productVersion ?? '?'}, passphrase ${m.nsx.passphraseRef}`);
      if (m.vcenter) lines.push(`vCenter    job ${m.vcenter.jobId}, version ${m.vcenter.version ?? '?'}, backup password ${m.vcenter.backupPasswordRef}`);
      for (const w of m.warnings ?? []) lines.push(`WARNING    ${w}`);
      for (const k of m.iks ?? []) {
        lines.push(`IKS        ${k.name} (${k.clusterId}) master ${k.masterVersion} ${k.masterStatus}/${k.masterHealth}; etcd backed up by the provider (a record, not a backup we hold)`);
      }
      for (const [cluster, a] of Object.entries(m.appData ?? {})) {
        lines.push(`app data   ${cluster}: confirmed by ${a.acknowledgedBy} at ${a.at}${a.evidence ? ` — ${a.evidence}` : ''}`);
      }
      const last = m.verifications?.at(-1);
      if (last && !last.ok) lines.push(`DAMAGED    at ${last.at}: ${last.problems.join('; ')}`);
      lines.push(`files      ${m.totals.files}, ${humanBytes(m.totals.bytes)}`);
      for (const f of filesOf(m)) lines.push(`  ${f.sha256.slice(0, 16)}…  ${humanBytes(f.size).padStart(10)}  ${f.path}`);
      process.stdout.write(lines.join('\n') + '\n');
    });

  backup
    .command('prune')
    .description(
      'Apply the target\'s retention policy (backupTarget.retention): delete expired sets — only files their manifests list, ' +
        'never the newest complete set, never a running one, each manifest last. Also runs after every successful backup.',
    )
    .requiredOption('--site <name>', 'site name from the config file')
    .option('--config <file>', 'config file')
    .option('--dry-run', 'show what would be deleted and why, delete nothing')
    .option('--json', 'machine-readable report')
    .action(async (o: { site: string; config?: string; dryRun?: boolean; json?: boolean }) => {
      const { config, file } = loadConfig(o.config);
      const target = siteOf(config, file, o.site).backupTarget;
      const policy = retentionPolicyOf(target);
      if (!policy || !hasRules(policy)) {
        throw new ConfigError(file, [`sites.${o.site}.backupTarget.retention: not set, so nothing is ever pruned; add keepLast, daily, weekly, monthly or maxAge`]);
      }
      const r = await withSftp(await endpoint(target), (s) => pruneTarget(s, target.directory, policy, { dryRun: !!o.dryRun, nowMs: Date.now() }));
      if (o.json) return printJson(r);
      for (const e of r.decision.expire) info(`${o.dryRun ? 'would expire' : 'expired'} ${e.setId}: ${e.reason}`);
      for (const k of r.decision.keep) info(`keep ${k.setId}: ${k.reasons.join(', ')}`);
      info(`${o.dryRun ? 'would delete' : 'deleted'} ${r.files.length} file(s), ${humanBytes(r.bytes)}`);
    });
}

async function endpoint(target: Parameters<typeof sftpEndpoint>[0]) {
  try {
    return await sftpEndpoint(target);
  } catch (err) {
    throw new CliError((err as Error).message, EXIT.BAD_INPUT);
  }
}
