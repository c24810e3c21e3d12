// The shape both throughput figures share: ours (PinnedSftp.digest, in this process, connect
// included) against an OpenSSH command over the same sshd, 5 interleaved rounds, medians compared.
import { PinnedSftp } from '../../dist/src/providers/sftp/client.js';
import { warm } from './data.mjs';
import { fmtList, fmtMs, fmtRate, interleaved, mbps, run, timed } from './timing.mjs';

export const ROUNDS = 5;

/** connect + digest + close, timed; fails when the digest disagrees with the file on disk. */
export async function oursDigest(ctx, file) {
  const { ms, result: d } = await timed(async () => {
    const sftp = await PinnedSftp.connect(ctx.sshd.endpoint());
    try {
      return await sftp.digest(file.path);
    } finally {
      await sftp.close();
    }
  });
  const problems = [];
  if (d.size !== file.size) problems.push(`size ${d.size}, expected ${file.size}`);
  if (d.sha256 !== file.sha256) problems.push(`sha256 ${d.sha256}, expected ${file.sha256}`);
  if (file.path.endsWith('.gz') && d.gzipIntact !== true) problems.push(`gzipIntact ${d.gzipIntact} (${d.gzipError ?? 'no error given'})`);
  if (problems.length) throw new Error(`digest() of ${file.path} is wrong: ${problems.join('; ')}`);
  return { ms };
}

/** A shell pipeline, timed (bash, pipefail). */
export async function shellTimed(script) {
  const { ms, stdout } = await run('bash', ['-c', `set -o pipefail\n${script}`]);
  return { ms, stdout };
}

/**
 * Runs both sides ROUNDS times and reports throughput (MiB/s of the file's size) and the ratio
 * ours/anchor; `minRatio` is the goal.
 */
export async function compareThroughput(ctx, { file, anchor, minRatio }) {
  await warm(file.path);
  const r = await interleaved(ROUNDS, () => oursDigest(ctx, file), anchor, ctx.log);
  const ours = mbps(file.size, r.oursMs);
  const theirs = mbps(file.size, r.anchorMs);
  const ratio = ours / theirs;
  const rates = (side) => fmtList(r[side], (s) => fmtRate(mbps(file.size, s.ms)));
  return {
    ours: `${fmtRate(ours)} (${fmtMs(r.oursMs)})`,
    anchorValue: `${fmtRate(theirs)} (${fmtMs(r.anchorMs)})`,
    ratio,
    pass: ratio >= minRatio,
    notes: `${(file.size / 2 ** 20).toFixed(0)} MiB file; rounds — ours: ${rates('ours')}; anchor: ${rates('anchor')}.`,
  };
}
