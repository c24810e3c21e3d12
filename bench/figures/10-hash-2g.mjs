import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { random2g } from '../lib/data.mjs';
import { compareThroughput } from '../lib/throughput.mjs';
import { run as runCmd } from '../lib/timing.mjs';

export const id = 'hash-2g';
export const figure = 'hash a 2 GiB file over SFTP';
export const anchor = 'OpenSSH `sftp` get of the same file to /dev/null';
export const goal = '≥ 1.0× its throughput';

export const prepare = () => random2g();

export async function run(ctx) {
  const file = await random2g();
  const batch = join(ctx.workDir, 'hash-2g.batch');
  writeFileSync(batch, `get ${file.path} /dev/null\n`);
  const r = await compareThroughput(ctx, { file, minRatio: 1.0, anchor: () => runCmd('sftp', ctx.sshd.sftpArgs(batch)) });
  return { ...r, notes: `ours: PinnedSftp.connect + digest() (SHA-256) + close, in the bench process; anchor: \`sftp -b\` with \`get F /dev/null\` (its default 64 requests × 32 KiB in flight). Ratio: our throughput / the anchor's. ${r.notes}` };
}
