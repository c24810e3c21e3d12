import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { createHash, randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { startNsxSimulator } from './nsx.js';
import { startNsxvSimulator } from './nsxv.js';
import { startVcenterSimulator } from './vcenter.js';
import { startVsphereSimulator, type LabVsphere } from './vsphere.js';
import { startVmwareSolutionsSimulator } from './vmware-solutions.js';
import { ibmAutomation } from './ibm-automation.js';
import { VcsimUnavailableError } from './vcsim-provision.js';
import { findSshd, startOpenSshSftp, type LabSftp } from './sftp-server.js';
import { startSsh2Sftp } from './ssh2-sftp-server.js';
import { withSftp } from '../providers/sftp/client.js';
import { startIbmSimulators } from './ibm.js';
import { startWebhookReceiver } from './webhook-receiver.js';
import { listen } from './http.js';
import { labTls, type CertAndKey } from './tls.js';
import { localPayloadKey, type EncryptionSetting } from '../temporal/data-converter.js';

export type SftpKind = 'auto' | 'sshd' | 'ssh2';

export interface LabOptions {
  dir: string;
  site?: string;
  sftp?: SftpKind;
  nsxPort?: number;
  vcenterPort?: number;
  sftpPort?: number;
  nsxJobMs?: number;
  vcenterJobMs?: number;
  pollInterval?: string;
  /** Link an IKS cluster (IAM and IKS simulators, a webhook receiver for notifications). Default true. */
  iks?: boolean;
  appData?: { runWithBackup: boolean; remindEvery: string; escalateAfter: string };
  /** More sites served by the same NSX Manager, each with a vCenter simulator and a target directory of its own. */
  sharedNsxSites?: string[];
  /** The config's temporal section; without `encryption`, the lab keeps a payload key of its own in its secrets folder. */
  temporal?: { address?: string; namespace?: string; taskQueue?: string; uiUrl?: string; encryption?: EncryptionSetting };
  /**
   * The vSphere SOAP peer (govmomi's simulator, built with Go) under the lab vCenter's /sdk:
   * true needs it, false goes without, unset starts it when Go can build it.
   */
  soap?: boolean;
  /** The lab site's NSX: nsx-t (default) or nsx-v (an NSX for vSphere simulator; the NSX-T one still runs as lab.nsx). */
  nsxFlavor?: 'nsx-t' | 'nsx-v';
  /** Sign with this CA instead of the one kept in <dir>/tls/ (tests: one CA for every lab of a process). */
  ca?: CertAndKey;
}

export type Lab = Awaited<ReturnType<typeof startLab>>;

/**
 * Where the OpenSSH lab keeps its files: beside the lab, unless a folder above it is closed to
 * other users (root's 0700 home, say), which the unprivileged SFTP user could not cross. Then a
 * folder of its own under the system temp directory, the same one for the same lab each time.
 */
export function sshdDirFor(labDir: string): string {
  const abs = resolve(labDir);
  for (let d = dirname(abs); ; d = dirname(d)) {
    if (existsSync(d) && (statSync(d).mode & 0o001) === 0) {
      return join(tmpdir(), `sddc-ops-lab-${createHash('sha256').update(abs).digest('hex').slice(0, 12)}`, 'sshd');
    }
    if (d === dirname(d)) return join(abs, 'sshd');
  }
}

/** A strong random secret that satisfies NSX's passphrase and vCenter's backup-password rules. */
export function labSecret(): string {
  return 'Lab' + randomBytes(6).toString('hex') + 'x9!';
}

/**
 * The lab's directory (traversable by the sshd lab user, mkdtemp makes 0700 ones), its secrets
 * folder, and its SFTP server: OpenSSH's sshd when asked, or when there and root; else ssh2's.
 */
export async function prepareLabDir(dir: string, kind: SftpKind = 'auto', o: { port?: number; maxStartups?: string } = {}): Promise<{ secretsDir: string; sftp: LabSftp }> {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  const secretsDir = join(dir, 'secrets');
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  const useSshd = kind === 'sshd' || (kind === 'auto' && !!findSshd() && process.getuid?.() === 0);
  const sftp: LabSftp = useSshd ? await startOpenSshSftp(sshdDirFor(dir), { port: o.port, maxStartups: o.maxStartups }) : await startSsh2Sftp(join(dir, 'ssh2'), { port: o.port });
  return { secretsDir, sftp };
}

/**
 * The whole lab: an SFTP server, the NSX Manager and vCenter appliance simulators, secret files
 * and a config file pointing at all of them (secrets only as file: references).
 */
export async function startLab(opts: LabOptions) {
  const site = opts.site ?? 'lab';
  const { secretsDir, sftp } = await prepareLabDir(opts.dir, opts.sftp, { port: opts.sftpPort });

  const started: { close: () => Promise<void> }[] = [{ close: () => sftp.stop() }];
  try {
    // Every simulator serves HTTPS with a certificate of the lab's own CA; the config names it as each endpoint's caFile.
    const tls = await labTls(opts.dir, opts.ca);
    const cert = tls.server;
    const caFile = tls.caFile;
    const creds = { nsxUser: 'admin', nsxPassword: labSecret(), vcUser: 'administrator@vsphere.local', vcPassword: labSecret() };
    const nsx = await startNsxSimulator({ user: creds.nsxUser, password: creds.nsxPassword, port: opts.nsxPort, jobDurationMs: opts.nsxJobMs, tls: cert });
    started.push(nsx);
    const flavor = opts.nsxFlavor ?? 'nsx-t';
    const nsxv = flavor === 'nsx-v' ? await startNsxvSimulator({ user: creds.nsxUser, password: creds.nsxPassword, jobDurationMs: opts.nsxJobMs, tls: cert }) : undefined;
    if (nsxv) started.push(nsxv);
    let vsphere: LabVsphere | undefined;
    if (opts.soap !== false) {
      try {
        vsphere = await startVsphereSimulator({ user: creds.vcUser, password: creds.vcPassword });
        started.push({ close: () => vsphere!.stop() });
      } catch (err) {
        if (opts.soap === true || !(err instanceof VcsimUnavailableError)) throw err;
      }
    }
    const vcenter = await startVcenterSimulator({ user: creds.vcUser, password: creds.vcPassword, port: opts.vcenterPort, jobDurationMs: opts.vcenterJobMs, soapUrl: vsphere?.sdkUrl, tls: cert });
    started.push(vcenter);
    // The drill sandbox: a vCenter appliance in restore mode and a freshly deployed NSX Manager, redeployed by the lab for each drill.
    const sandbox = {
      vcenter: await startVcenterSimulator({ user: creds.vcUser, password: creds.vcPassword, jobDurationMs: opts.vcenterJobMs, restoreMode: true, tls: cert }),
      nsx: await startNsxSimulator({ user: creds.nsxUser, password: creds.nsxPassword, jobDurationMs: opts.nsxJobMs, fresh: true, tls: cert }),
      nsxv: nsxv ? await startNsxvSimulator({ user: creds.nsxUser, password: creds.nsxPassword, jobDurationMs: opts.nsxJobMs, fresh: true, tls: cert }) : undefined,
    };
    if (sandbox.nsxv) started.push(sandbox.nsxv);
    // What an operator's automation (vRO, Ansible, Terraform) does before each drill: deploy both sandbox appliances anew.
    let redeploys = 0;
    const redeployer = await listen((req) => {
      if (req.method !== 'POST' || req.path !== '/redeploy') return { status: 404 };
      sandbox.vcenter.redeploy();
      sandbox.nsx.redeploy();
      sandbox.nsxv?.redeploy();
      redeploys++;
      return { status: 200, body: { redeployed: ['vcenter', 'nsx'] } };
    }, { tls: cert });
    started.push(sandbox.vcenter, sandbox.nsx, redeployer);
    const withIks = opts.iks ?? true;
    const apiKey = labSecret();
    const clusterId = 'c0lab1iks2cluster3';
    const ibm = withIks ? await startIbmSimulators({ apiKey, clusters: [{ id: clusterId, name: 'lab-apps' }], tls: cert }) : undefined;
    if (ibm) started.push(ibm);
    const provisioned: { close: () => Promise<void> }[] = [];
    started.push({ close: async () => void (await Promise.all(provisioned.map((p) => p.close()))) });
    // IBM Cloud for VMware Solutions: the instance this site's vCenter belongs to; ordered hosts join the SOAP peer.
    const vmwareSolutions =
      ibm && vsphere
        ? await startVmwareSolutionsSimulator({
            authorized: ibm.authorized,
            instance: { id: 'lab-vcs-8f14e45f', name: 'lab', rootDomain: 'lab.local', clusters: [{ id: '0', name: 'DC0_C0', hosts: [] }] },
            ...ibmAutomation(vsphere, { user: creds.vcUser, password: creds.vcPassword }),
            // A new instance's vCenter: another appliance simulator with the lab's login; NSX: the lab's NSX Manager.
            // The lab also makes the new site's backup directory on the SFTP server, as its admin would.
            provision: async (name) => {
              const vc = await startVcenterSimulator({ user: creds.vcUser, password: creds.vcPassword, jobDurationMs: opts.vcenterJobMs, tls: cert });
              provisioned.push(vc);
              await withSftp({ host: sftp.host, port: sftp.port, user: sftp.user, password: sftp.password, hostKeyFingerprint: sftp.fingerprint }, (s) => s.mkdirp(`${sftp.homeDir.replace(/\/$/, '')}/backups/${name}`));
              return { vcenter: vc.url, nsx: nsx.url };
            },
            tls: cert,
          })
        : undefined;
    if (vmwareSolutions) started.push(vmwareSolutions);
    const receiver = withIks ? await startWebhookReceiver({ tls: cert }) : undefined;
    if (receiver) started.push(receiver);

    const secret = (name: string, value: string) => {
      const p = join(secretsDir, name);
      writeFileSync(p, value + '\n', { mode: 0o600 });
      return `file:${p}`;
    };
    const directory = `${sftp.homeDir.replace(/\/$/, '')}/backups/${site}`;
    const siteConfig = {
      vcenter: {
        url: vcenter.url,
        user: creds.vcUser,
        password: secret('vcenter-password', creds.vcPassword),
        backupPassword: secret('vcenter-backup-password', labSecret()),
        parts: ['common', 'seat'],
        caFile,
      },
      nsx: {
        url: nsxv?.url ?? nsx.url,
        flavor,
        user: creds.nsxUser,
        password: secret('nsx-password', creds.nsxPassword),
        backupPassphrase: secret('nsx-passphrase', labSecret()),
        caFile,
      },
      backupTarget: {
        host: sftp.host,
        port: sftp.port,
        user: sftp.user,
        password: secret('sftp-password', sftp.password),
        directory,
        hostKeyFingerprint: sftp.fingerprint,
      },
      iksClusters: withIks
        ? [
            {
              id: clusterId,
              name: 'lab-apps',
              appOwners: [{ name: 'Shop app team', webhook: 'owners' }],
              escalation: [{ name: 'Platform lead', webhook: 'escalation' }],
              appData: { namespaces: ['shop'], volumes: ['shop/pvc-orders'] },
            },
          ]
        : [],
      appData: opts.appData ?? { runWithBackup: true, remindEvery: '24h', escalateAfter: '72h' },
      backup: { pollInterval: opts.pollInterval ?? '1s', timeout: '30m' },
      ...(receiver ? { alerts: { notify: [{ name: 'Backup on-call', webhook: 'alerts' }], maxAgeWithoutGoodSet: '26h', checkEvery: '1h' } } : {}),
      drill: {
        sandbox: {
          vcenter: { url: sandbox.vcenter.url, caFile },
          nsx: { url: sandbox.nsxv?.url ?? sandbox.nsx.url, caFile },
          redeploy: { url: secret('sandbox-redeploy-url', `${redeployer.url}/redeploy`), caFile },
        },
        notify: receiver ? [{ name: 'Backup team', webhook: 'backup-team' }] : [],
      },
      // The SOAP peer takes any host password; the lab still gives it as a secret reference.
      ...(vsphere ? { scaleOut: { hostUser: 'root', hostPassword: secret('esxi-root-password', labSecret()) } } : {}),
    };
    const extraSites: { site: string; vcenter: Awaited<ReturnType<typeof startVcenterSimulator>>; directory: string }[] = [];
    const sites: Record<string, typeof siteConfig> = { [site]: siteConfig };
    for (const other of opts.sharedNsxSites ?? []) {
      const vc = await startVcenterSimulator({ user: creds.vcUser, password: creds.vcPassword, jobDurationMs: opts.vcenterJobMs, tls: cert });
      started.push(vc);
      const dir = `${sftp.homeDir.replace(/\/$/, '')}/backups/${other}`;
      extraSites.push({ site: other, vcenter: vc, directory: dir });
      sites[other] = { ...siteConfig, vcenter: { ...siteConfig.vcenter, url: vc.url }, backupTarget: { ...siteConfig.backupTarget, directory: dir }, iksClusters: [] };
    }
    await withSftp({ host: sftp.host, port: sftp.port, user: sftp.user, password: sftp.password, hostKeyFingerprint: sftp.fingerprint }, async (s) => {
      for (const d of [directory, ...extraSites.map((x) => x.directory)]) await s.mkdirp(d);
    });
    const configPath = join(opts.dir, 'sddc-ops.lab.yaml');
    const config = {
      temporal: { taskQueue: 'sddc-ops', ...opts.temporal, encryption: opts.temporal?.encryption ?? localPayloadKey(secretsDir, 'lab') },
      ...(ibm
        ? { ibmCloud: { apiKey: secret('ibmcloud-api-key', apiKey), iamUrl: ibm.iamUrl, iksUrl: ibm.iksUrl, caFile, ...(vmwareSolutions ? { vmwareSolutionsUrl: vmwareSolutions.url } : {}), workerPool: { timeout: '10m', pollInterval: '1s' }, orders: { timeout: '10m', pollInterval: '1s' } } }
        : {}),
      notifications: {
        webhooks: receiver
          ? {
              owners: { url: secret('webhook-owners-url', `${receiver.url}/owners`), format: 'slack', caFile },
              escalation: { url: secret('webhook-escalation-url', `${receiver.url}/escalation`), format: 'json', caFile },
              'backup-team': { url: secret('webhook-backup-team-url', `${receiver.url}/backup-team`), format: 'json', caFile },
              alerts: { url: secret('webhook-alerts-url', `${receiver.url}/alerts`), format: 'slack', caFile },
            }
          : {},
      },
      sites,
    };
    writeFileSync(
      configPath,
      `# Written by the sddc-ops lab; secrets are file: references under ${secretsDir}\n` +
        `# yaml-language-server: $schema=../config/sddc-ops.schema.json\n` +
        stringify(config),
    );
    return {
      site,
      configPath,
      /** The lab's CA (caFile of every endpoint) and the certificate its simulators serve. */
      tls,
      siteConfig,
      sftp,
      nsx,
      /** The NSX for vSphere simulator the site uses when the lab was started with nsxFlavor nsx-v. */
      nsxv,
      vcenter,
      /** The SOAP peer behind `${vcenter.url}/sdk`, with its fault control; undefined when Go could not build it. */
      vsphere,
      ibm,
      /** IBM Cloud for VMware Solutions (the lab vCenter's instance); undefined without IKS or SOAP. */
      vmwareSolutions,
      receiver,
      extraSites,
      /** The drill sandbox (drill.sandbox in the config), and how often the lab redeployed it. */
      sandbox: { ...sandbox, redeploys: () => redeploys },
      stop: async () => {
        await nsx.close();
        await sandbox.vcenter.close();
        await sandbox.nsx.close();
        await sandbox.nsxv?.close();
        await nsxv?.close();
        await redeployer.close();
        await vcenter.close();
        await vsphere?.stop();
        for (const x of extraSites) await x.vcenter.close();
        await vmwareSolutions?.close();
        for (const p of provisioned) await p.close();
        await ibm?.close();
        await receiver?.close();
        await sftp.stop();
      },
    };
  } catch (err) {
    // Leave nothing running when the lab cannot be completed.
    for (const part of started.reverse()) await part.close().catch(() => undefined);
    throw err;
  }
}
