import { randomBytes } from 'node:crypto';
import type { BackupTarget, NsxConfig, VcenterConfig } from '../../src/config/schema.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { NsxClient } from '../../src/providers/nsx/client.js';
import { HttpError } from '../../src/providers/http.js';
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
import { guarded, nonRetryable } from '../failures.js';

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

/**
 * NSX-T asks the backup server for its host key from where NSX stands: when that is not the pinned
 * key, NSX reaches another server at that address (DNS, NAT) and would refuse every backup. A manager
 * without the call (404) cannot be asked; NSX-V has none.
 */
export async function checkNsxSeesThePin(nsx: NsxConfig, target: BackupTarget): Promise<void> {
  if (nsx.flavor === 'nsx-v') return;
  let seen: string;
  try {
    seen = (await new NsxClient(await nsxEndpoint(nsx)).retrieveSshFingerprint(target.host, target.port)).ssh_fingerprint;
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) return;
    throw err;
  }
  if (seen !== target.hostKeyFingerprint) {
    throw nonRetryable(
      'FingerprintMismatch',
      `NSX Manager sees host key ${seen} at ${target.host}:${target.port}, but the config pins ${target.hostKeyFingerprint}: NSX reaches another server at that address (DNS, NAT?) or the key changed — check with \`sddc-ops sftp fingerprint ${target.host}:${target.port}\` and fix the address or the pin`,
      { expected: target.hostKeyFingerprint, actual: seen },
    );
  }
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
    await checkNsxSeesThePin(nsx, target);
    return { nsxVersion, vcenterVersion: v.version, secrets: new Set(refs).size };
  });
}
