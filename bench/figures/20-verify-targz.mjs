import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { targz1g } from '../lib/data.mjs';
import { compareThroughput, shellTimed } from '../lib/throughput.mjs';

export const id = 'verify-targz';
export const figure = 'verify a 1 GiB `.tar.gz` (hash + full gzip check)';
export const anchor = '`ssh … cat F | tee >(sha256sum) | gzip -t`';
export const goal = '≥ 0.8× its throughput';

export const prepare = () => targz1g();

export async function run(ctx) {
  const file = await targz1g();
  const sum = join(ctx.workDir, 'verify-targz.sha256');
  const anchorRound = async () => {
    // `wait $!` waits for the process substitution too, so sha256sum's time is counted.
    const r = await shellTimed(`ssh ${ctx.sshd.sshArgs.join(' ')} cat ${file.path} | tee >(sha256sum > ${sum}) | gzip -t\nwait $!`);
    const got = readFileSync(sum, 'utf8').split(' ')[0];
    if (got !== file.sha256) throw new Error(`anchor's sha256sum says ${got}, expected ${file.sha256}`);
    return r;
  };
  const r = await compareThroughput(ctx, { file, minRatio: 0.8, anchor: anchorRound });
  return { ...r, notes: `ours: PinnedSftp.connect + digest() (SHA-256 + gunzip to the end) + close, in the bench process; anchor: the pipeline above in bash with pipefail, its sha256 checked. Ratio: our throughput / the anchor's. ${r.notes}` };
}
