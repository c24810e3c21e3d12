import { randomBytes } from 'node:crypto';
import type { BackupTarget, NsxConfig, VcenterConfig } from '../../src/config/schema.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { NsxClient } from '../../src/providers/nsx/client.js';
import { NsxvClient } from '../../src/providers/nsxv/client.js';

/** The manager's version, through the API of its flavor (a read that also proves the login). */
export async function nsxVersionOf(nsx: NsxConfig): Promise<string | undefined> {
  const ep = await nsxEndpoint(nsx);
  return nsx.flavor === 'nsx-v' ? new NsxvClient(ep).version() : (await new NsxClient(ep).getNodeVersion()).product_version;
}
import { withVcenter } from '../../src/providers/vcenter/client.js';
import { withSftp } from '../../src/providers/sftp/client.js';
import { TargetDirectoryError } from '../../src/providers/sftp/errors.js';
import { targetLayout } from '../../src/domain/backup-set.js';
import { nsxEndpoint, sftpEndpoint, vcenterEndpoint } from '../endpoints.js';
import { guarded } from '../failures.js';

export interface PreflightResult {
  serverFingerprint: string;
  directory: string;
  createdDirectories: string[];
}

/** SFTP reachable, host key equal to the pin, directory present and writable; product folders ready. */
export async function preflightBackupTarget(target: BackupTarget): Promise<PreflightResult> {
  return guarded(async () =>
    withSftp(await sftpEndpoint(target), async (sftp) => {
      const dir = target.directory;
      const kind = await sftp.exists(dir);
      if (kind !== 'd') {
        throw new TargetDirectoryError(
          `target directory ${dir} ${kind ? 'is not a directory' : 'does not exist'} on ${target.host}: create it and make it writable by ${target.user}`,
        );
      }
      const probe = `${dir}/.sddc-ops-write-test-${randomBytes(4).toString('hex')}`;
      try {
        await sftp.writeFileAtomic(probe, 'write test\n');
        await sftp.remove(probe);
      } catch (err) {
        throw new TargetDirectoryError(`target directory ${dir} on ${target.host} is not writable by ${target.user}: ${(err as Error).message}`);
      }
      const layout = targetLayout(dir);
      const created: string[] = [];
      for (const d of [layout.nsxDir, layout.vcenterDir, layout.setsDir]) {
        if ((await sftp.exists(d)) !== 'd') {
          await sftp.mkdirp(d);
          created.push(d);
        }
      }
      return { serverFingerprint: sftp.serverFingerprint, directory: dir, createdDirectories: created };
    }),
  );
}

export interface ProductsPreflightInput {
  nsx: NsxConfig;
  vcenter: VcenterConfig;
  target: BackupTarget;
  /** Other references the run will resolve (IBM Cloud API key, webhook URLs): named, never valued. */
  otherSecrets: string[];
}

/**
 * Touches nothing: resolves every secret reference the run needs, and checks that NSX Manager and
 * the vCenter appliance answer and accept their credentials (a read each) — so a missing secret or
 * a wrong password fails the run before any product is asked to back up.
 */
export async function preflightProducts({ nsx, vcenter, target, otherSecrets }: ProductsPreflightInput): Promise<{ nsxVersion?: string; vcenterVersion?: string; secrets: number }> {
  return guarded(async () => {
    const refs = [nsx.password, nsx.backupPassphrase, vcenter.password, vcenter.backupPassword, target.password, target.privateKey, ...otherSecrets].filter((r): r is string => !!r);
    for (const ref of new Set(refs)) await resolveSecret(ref);
    const [nsxVersion, v] = await Promise.all([nsxVersionOf(nsx), withVcenter(await vcenterEndpoint(vcenter), (c) => c.getVersion())]);
    return { nsxVersion, vcenterVersion: v.version, secrets: new Set(refs).size };
  });
}
