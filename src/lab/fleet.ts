import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startNsxSimulator } from './nsx.js';
import { startVcenterSimulator } from './vcenter.js';
import { labSecret, prepareLabDir, type SftpKind } from './lab.js';
import { withSftp } from '../providers/sftp/client.js';
import { labTls, type CertAndKey } from './tls.js';
import { localPayloadKey, type EncryptionSetting } from '../temporal/data-converter.js';

/**
 * A fleet of sites for load runs (`npm run bench:fleet`): one SFTP server, and for every site a
 * vCenter appliance simulator and a target directory of its own; NSX Managers are the sites' own,
 * except that the first `shared.size` sites of every block of `shared.every` share one NSX Manager
 * (one backup at a time there: their runs queue on the endpoint lock). Backups only: no IKS, no
 * SOAP peer, no drill sandbox, no alerts.
 */
export interface FleetLabOptions {
  dir: string;
  /** How many sites: fleet-001 … fleet-NNN. */
  sites: number;
  /** Default { every: 20, size: 4 }: sites 1–4, 21–24, … share an NSX Manager per block. size ≤ 1: none shared. */
  shared?: { every: number; size: number };
  sftp?: SftpKind;
  /** The OpenSSH target's MaxStartups (default 1000:30:2000: every site's products and checks log in to the one target). */
  maxStartups?: string;
  nsxJobMs?: number;
  vcenterJobMs?: number;
  /** backup.pollInterval of every site (default 1s). */
  pollInterval?: string;
  /** backup.timeout of every site (default 30m). */
  timeout?: string;
  temporal?: { address?: string; namespace?: string; taskQueue?: string; encryption?: EncryptionSetting };
  ca?: CertAndKey;
}

export type FleetLab = Awaited<ReturnType<typeof startFleetLab>>;

export const fleetSiteName = (i: number) => `fleet-${String(i + 1).padStart(3, '0')}`;

export async function startFleetLab(opts: FleetLabOptions) {
  const shared = opts.shared ?? { every: 20, size: 4 };
  const { secretsDir, sftp } = await prepareLabDir(opts.dir, opts.sftp, { maxStartups: opts.maxStartups ?? '1000:30:2000' });
  const closers: (() => Promise<void>)[] = [() => sftp.stop()];
  const stop = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const tls = await labTls(opts.dir, opts.ca);
    const cert = tls.server;
    const creds = { nsxUser: 'admin', nsxPassword: labSecret(), vcUser: 'administrator@vsphere.local', vcPassword: labSecret() };
    const secret = (name: string, value: string) => {
      const p = join(secretsDir, name);
      writeFileSync(p, value + '\n', { mode: 0o600 });
      return `file:${p}`;
    };
    const refs = {
      nsxPassword: secret('nsx-password', creds.nsxPassword),
      nsxPassphrase: secret('nsx-passphrase', labSecret()),
      vcPassword: secret('vcenter-password', creds.vcPassword),
      vcBackupPassword: secret('vcenter-backup-password', labSecret()),
      sftpPassword: secret('sftp-password', sftp.password),
    };
    type Nsx = Awaited<ReturnType<typeof startNsxSimulator>>;
    type Vc = Awaited<ReturnType<typeof startVcenterSimulator>>;
    const nsxs: Nsx[] = [];
    const sites: { site: string; nsx: number; vcenter: Vc; directory: string }[] = [];
    let sharedNsx: number | undefined;
    for (let i = 0; i < opts.sites; i++) {
      const inBlock = shared.size > 1 ? i % shared.every : shared.every;
      let nsx: number;
      if (inBlock < shared.size) {
        if (inBlock === 0 || sharedNsx === undefined) {
          const n = await startNsxSimulator({ user: creds.nsxUser, password: creds.nsxPassword, jobDurationMs: opts.nsxJobMs, tls: cert });
          closers.push(() => n.close());
          nsxs.push(n);
          sharedNsx = nsxs.length - 1;
        }
        nsx = sharedNsx;
      } else {
        const n = await startNsxSimulator({ user: creds.nsxUser, password: creds.nsxPassword, jobDurationMs: opts.nsxJobMs, tls: cert });
        closers.push(() => n.close());
        nsxs.push(n);
        nsx = nsxs.length - 1;
      }
      const vc = await startVcenterSimulator({ user: creds.vcUser, password: creds.vcPassword, jobDurationMs: opts.vcenterJobMs, tls: cert });
      closers.push(() => vc.close());
      const site = fleetSiteName(i);
      sites.push({ site, nsx, vcenter: vc, directory: `${sftp.homeDir.replace(/\/$/, '')}/backups/${site}` });
    }
    await withSftp({ host: sftp.host, port: sftp.port, user: sftp.user, password: sftp.password, hostKeyFingerprint: sftp.fingerprint }, async (s) => {
      for (const x of sites) await s.mkdirp(x.directory);
    });
    const siteConfig = (x: (typeof sites)[number]) => ({
      vcenter: { url: x.vcenter.url, user: creds.vcUser, password: refs.vcPassword, backupPassword: refs.vcBackupPassword, parts: ['common', 'seat'], caFile: tls.caFile },
      nsx: { url: nsxs[x.nsx]!.url, flavor: 'nsx-t', user: creds.nsxUser, password: refs.nsxPassword, backupPassphrase: refs.nsxPassphrase, caFile: tls.caFile },
      backupTarget: { host: sftp.host, port: sftp.port, user: sftp.user, password: refs.sftpPassword, directory: x.directory, hostKeyFingerprint: sftp.fingerprint },
      backup: { pollInterval: opts.pollInterval ?? '1s', timeout: opts.timeout ?? '30m' },
      appData: { runWithBackup: false, remindEvery: '24h', escalateAfter: '72h' },
    });
    const configPath = join(opts.dir, 'sddc-ops.fleet.yaml');
    const config = {
      temporal: { taskQueue: 'sddc-ops', ...opts.temporal, encryption: opts.temporal?.encryption ?? localPayloadKey(secretsDir, 'fleet') },
      sites: Object.fromEntries(sites.map((x) => [x.site, siteConfig(x)])),
    };
    writeFileSync(configPath, `# Written by the sddc-ops fleet lab (${opts.sites} sites); secrets are file: references under ${secretsDir}\n` + stringify(config));
    return {
      configPath,
      sftp,
      tls,
      sites: sites.map((x) => ({ site: x.site, nsxIndex: x.nsx, nsxUrl: nsxs[x.nsx]!.url, vcenterUrl: x.vcenter.url, directory: x.directory, targetOnDisk: sftp.diskPath(x.directory) })),
      /** What the simulators did: backups started per NSX Manager, jobs per vCenter appliance. */
      counts: () => ({ nsx: nsxs.map((n) => n.backupsStarted()), vcenter: sites.map((x) => x.vcenter.jobCount()) }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
