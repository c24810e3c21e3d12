/**
 * The restore runbook of a paired set: which set, and for each stage — vCenter first (its inventory
 * is what NSX attaches to), then NSX Manager, then reconciliation — what to do and what to check
 * after, with the exact SFTP locations, the paired timestamps and the secret *references* that
 * hold the passwords and the passphrase (never their values). Pure: the CLI prints it, the restore
 * workflow follows it.
 */
import type { SiteConfig } from '../config/schema.js';
import { catalogStatus, NSXV_FILENAME_PREFIX, parseNsxBackupFolderName, parseNsxvBackupFileName, parseVcenterBackupFolderName, type BackupSetManifest, type CatalogStatus } from '../domain/backup-set.js';

export interface RestoreStage {
  title: string;
  do: string[];
  check: string[];
}

export interface RestoreRunbook {
  site: string;
  setId: string;
  status: CatalogStatus;
  /** Set when the operator chose a set that is not complete and verified (--force), and why it is not. */
  forced?: string;
  vcenter: { address: string; version?: string; backupAt?: string; location: string; folder: string; backupPasswordRef: string };
  nsx: {
    flavor: 'nsx-t' | 'nsx-v';
    address: string;
    version?: string;
    backupAt?: string;
    timestampMs?: number;
    /** NSX-T: the manager node whose backup this is. */
    nodeId?: string;
    /** NSX-V: the backup file to restore (restoreFile=). */
    restoreFile?: string;
    directory: string;
    folder: string;
    passphraseRef: string;
  };
  /** Seconds between the two halves' backups. */
  skewSeconds?: number;
  target: { host: string; port: number; directory: string; user: string; passwordRef?: string; privateKeyRef?: string; hostKeyFingerprint: string };
  stages: RestoreStage[];
}

export class RestorePlanError extends Error {
  override readonly name = 'RestorePlanError';
}

/** The set a restore uses: the one named, or the newest complete and verified one of the site. A set that is not complete and verified only with `force`. */
export function pickRestoreSet(sets: BackupSetManifest[], site: string, o: { setId?: string; force?: boolean; nowMs: number }): { manifest: BackupSetManifest; status: CatalogStatus; forced?: string } {
  const mine = sets.filter((m) => m.site === site);
  if (o.setId) {
    const m = mine.find((x) => x.setId === o.setId);
    if (!m) throw new RestorePlanError(`no set ${o.setId} of site ${site} in the catalog`);
    const status = catalogStatus(m, undefined, o.nowMs);
    if (!m.nsx?.folders?.length || !m.vcenter?.folders?.length) throw new RestorePlanError(`set ${m.setId} does not hold both halves (NSX and vCenter): it cannot be restored as a pair, not even with --force`);
    if (status === 'complete') return { manifest: m, status };
    const why = `set ${m.setId} is ${status}${m.failureReason ? ` (${m.failureReason})` : ''}${status === 'damaged' ? `: its last verification found ${m.verifications?.at(-1)?.problems.join('; ') || 'it unverified'}` : ''}`;
    if (!o.force) throw new RestorePlanError(`${why}; restore it only with --force, or pick a complete, verified set`);
    return { manifest: m, status, forced: why };
  }
  const good = mine.filter((m) => catalogStatus(m, undefined, o.nowMs) === 'complete').sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  if (!good.length) throw new RestorePlanError(`site ${site} has no complete, verified set in the catalog; name one with --set (and --force) or take a backup first`);
  return { manifest: good[0]!, status: 'complete' };
}

const hostOf = (url: string) => new URL(url).host;
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function restoreRunbook(m: BackupSetManifest, site: SiteConfig, picked: { status: CatalogStatus; forced?: string }): RestoreRunbook {
  const t = m.target;
  const dir = t.directory.replace(/\/+$/, '');
  const vcFolder = m.vcenter!.folders![0]!;
  const nsxFolder = m.nsx!.folders![0]!;
  const vcName = vcFolder.split('/').at(-1)!;
  const vcParsed = parseVcenterBackupFolderName(vcName);
  const flavor = m.nsx!.flavor ?? 'nsx-t';
  const nsxName = nsxFolder.split('/').at(-1)!;
  const nsxTime = flavor === 'nsx-v' ? parseNsxvBackupFileName(nsxName) : parseNsxBackupFolderName(nsxName);
  // nsx/cluster-node-backups/<version>-<node uuid>-<ip>/backup-<time>UTC
  const nodeDir = nsxFolder.split('/')[2] ?? '';
  const nodeId = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i.exec(nodeDir)?.[1];
  const location = `sftp://${t.host}:${t.port}${dir}/${vcFolder}`;
  const vcenter = { address: hostOf(site.vcenter.url), version: m.vcenter!.version ?? vcParsed?.version, backupAt: iso(vcParsed?.startMs) ?? m.vcenter!.startTime, location, folder: vcFolder, backupPasswordRef: m.vcenter!.backupPasswordRef };
  const nsx: RestoreRunbook['nsx'] = {
    flavor,
    address: hostOf(site.nsx.url),
    version: m.nsx!.productVersion,
    backupAt: iso(nsxTime) ?? m.nsx!.startTime,
    timestampMs: nsxTime,
    ...(flavor === 'nsx-v' ? { restoreFile: nsxName } : { nodeId }),
    directory: `${dir}/nsx`,
    folder: nsxFolder,
    passphraseRef: m.nsx!.passphraseRef,
  };
  const bt = site.backupTarget;
  const target = { host: t.host, port: t.port, directory: dir, user: bt.user, ...(bt.password ? { passwordRef: bt.password } : {}), ...(bt.privateKey ? { privateKeyRef: bt.privateKey } : {}), hostKeyFingerprint: t.hostKeyFingerprint };
  const login = target.passwordRef ? `the password in ${target.passwordRef}` : `the key in ${target.privateKeyRef}`;
  const skewSeconds = vcParsed && nsxTime !== undefined ? Math.round(Math.abs(vcParsed.startMs - nsxTime) / 1000) : undefined;
  const stages: RestoreStage[] = [
    {
      title: `1. vCenter Server ${vcenter.address}`,
      do: [
        `Deploy a new vCenter Server Appliance${vcenter.version ? ` ${vcenter.version}` : ''} in restore mode (installer stage 1: Restore) at ${vcenter.address} — the same FQDN and IP as the lost one.`,
        `Validate the archive: POST https://${vcenter.address}/api/appliance/recovery/restore?action=validate with location_type SFTP, location ${location}, location_user ${target.user}, location_password = ${login}, backup_password = the value of ${vcenter.backupPasswordRef}.`,
        'Start the restore: POST /api/appliance/recovery/restore/job with the same fields and the SSO administrator; poll GET /api/appliance/recovery/restore/job until state SUCCEEDED (FAILED: read its messages).',
      ],
      check: [`GET /api/appliance/system/version reports ${vcenter.version ?? 'the version of the set'}`, 'every appliance service is started; you can log in with the SSO administrator', 'the clusters and hosts are the ones you expect (they are as of the backup time, not as of the failure)'],
    },
    flavor === 'nsx-v' ? nsxvStage(nsx, vcenter.address, t, target.user, login) : nsxtStage(nsx, vcenter.address, t, target.user, login),
    {
      title: '3. Reconcile',
      do: [
        'Add the other NSX Manager nodes again, if the cluster had three.',
        'Compare what the restored vCenter and NSX hold with what changed since the backup: changes made after it are gone and must be made again.',
        ...(m.iks?.length ? [`IKS (${m.iks.map((k) => k.name).join(', ')}): nothing to restore from this set — etcd is backed up by IBM as part of the managed service; application data is the app owners' to restore.`] : []),
      ],
      check:
        flavor === 'nsx-v'
          ? ['the NSX Controllers are connected and the hosts\' VXLAN status is green', 'edges (ESG and DLR), logical switches and firewall rules are those of the backup time', 'workload VMs are reachable over their logical switches']
          : ['transport nodes and edges are up and connected', 'segments, gateways and firewall rules are those of the backup time', 'workload VMs are reachable over their segments'],
    },
  ];
  return { site: m.site, setId: m.setId, status: picked.status, ...(picked.forced ? { forced: picked.forced } : {}), vcenter, nsx, ...(skewSeconds !== undefined ? { skewSeconds } : {}), target, stages };
}

type Endpoint = { host: string; port: number; hostKeyFingerprint: string };

/** NSX-T / NSX 4.x: restore config, the backup timestamps, start, and the operator pauses. */
function nsxtStage(nsx: RestoreRunbook['nsx'], vcAddress: string, t: Endpoint, user: string, login: string): RestoreStage {
  return {
    title: `2. NSX Manager ${nsx.address}`,
    do: [
      `Deploy one new NSX Manager${nsx.version ? ` ${nsx.version}` : ''} at ${nsx.address} — the same IP/FQDN as the lost one; add no other manager nodes yet.`,
      `Point it at the backups: PUT https://${nsx.address}/api/v1/cluster/restore/config with remote_file_server {server ${t.host}, port ${t.port}, protocol sftp with ssh_fingerprint ${t.hostKeyFingerprint}, directory_path ${nsx.directory}, user ${user}, password = ${login}} and passphrase = the value of ${nsx.passphraseRef}.`,
      `List the backups: GET /api/v1/cluster/restore/backuptimestamps; take timestamp ${nsx.timestampMs ?? '(the one at ' + (nsx.backupAt ?? '?') + ')'}${nsx.nodeId ? ` of node ${nsx.nodeId}` : ''} (${nsx.backupAt ?? 'the set\'s NSX backup'}).`,
      'Start: POST /api/v1/cluster/restore?action=start with {node_id, timestamp}; poll GET /api/v1/cluster/restore/status. When it is SUSPENDED_FOR_USER_ACTION, do what its instructions say and answer with POST /api/v1/cluster/restore?action=advance.',
    ],
    check: ['GET /api/v1/cluster/status: overall status STABLE', `the version is ${nsx.version ?? 'the version of the set'}`, `the compute manager ${vcAddress} is registered and up`],
  };
}

/** NSX for vSphere 6.4: settings, the list of backups and restore through the appliance-management API. */
function nsxvStage(nsx: RestoreRunbook['nsx'], vcAddress: string, t: Endpoint, user: string, login: string): RestoreStage {
  const api = `https://${nsx.address}/api/1.0/appliance-management/backuprestore`;
  return {
    title: `2. NSX Manager (NSX for vSphere) ${nsx.address}`,
    do: [
      `Deploy a new NSX Manager${nsx.version ? ` ${nsx.version}` : ''} appliance at ${nsx.address} — the same IP as the lost one — and do not configure anything else on it.`,
      `Point it at the backups: PUT ${api}/backupsettings/ftpsettings (Content-Type application/xml) with transferProtocol SFTP, hostNameIPAddress ${t.host}, port ${t.port}, userName ${user}, password = ${login}, backupDirectory ${nsx.directory}, filenamePrefix ${NSXV_FILENAME_PREFIX}, passPhrase = the value of ${nsx.passphraseRef} — in that element order.`,
      `List the backups: GET ${api}/backups; take fileName ${nsx.restoreFile} (${nsx.backupAt ?? 'the set\'s NSX backup'}).`,
      `Restore: POST ${api}/restore?restoreFile=${nsx.restoreFile} (Content-Type application/xml); the manager restarts its services when it is done.`,
    ],
    check: [`GET /api/1.0/appliance-management/global/info reports ${nsx.version ?? 'the version of the set'}`, `the vCenter registration (${vcAddress}) is connected`, 'the host preparation and VXLAN status of every cluster are green'],
  };
}

/** The runbook for people. */
export function runbookMarkdown(r: RestoreRunbook): string {
  const out = [
    `# Restore of site ${r.site} from set ${r.setId}`,
    '',
    ...(r.forced ? [`> **FORCED**: ${r.forced}.`, ''] : []),
    `- vCenter backup: ${r.vcenter.backupAt ?? '?'}${r.vcenter.version ? ` (version ${r.vcenter.version})` : ''} at \`${r.vcenter.location}\``,
    `- NSX backup: ${r.nsx.backupAt ?? '?'}${r.nsx.version ? ` (version ${r.nsx.version})` : ''} in \`${r.nsx.directory}\` (\`${r.nsx.folder}\`)`,
    ...(r.skewSeconds !== undefined ? [`- the two backups are ${r.skewSeconds} s apart`] : []),
    `- SFTP: ${r.target.user}@${r.target.host}:${r.target.port}, host key ${r.target.hostKeyFingerprint}; login ${r.target.passwordRef ?? r.target.privateKeyRef}`,
    `- secrets (references, not values): vCenter backup password ${r.vcenter.backupPasswordRef}; NSX passphrase ${r.nsx.passphraseRef}`,
  ];
  for (const s of r.stages) {
    out.push('', `## ${s.title}`, '', ...s.do.map((d, i) => `${i + 1}. ${d}`), '', 'Check:', ...s.check.map((c) => `- [ ] ${c}`));
  }
  return out.join('\n') + '\n';
}
