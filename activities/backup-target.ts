import { randomBytes } from 'node:crypto';
import type { BackupTarget } from '../src/config/schema.js';
import { withSftp } from '../src/providers/sftp/client.js';
import { TargetDirectoryError } from '../src/providers/sftp/errors.js';
import { targetLayout } from '../src/domain/backup-set.js';
import { sftpEndpoint } from './endpoints.js';
import { guarded } from './failures.js';

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
