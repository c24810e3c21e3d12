import { fileURLToPath } from 'node:url';
import { gz2g, warm } from '../lib/data.mjs';
import { fmtMs, run as runCmd } from '../lib/timing.mjs';

export const id = 'memory-gz';
export const figure = 'worker memory while verifying a 2 GiB `.gz`';
export const anchor = 'worker memory at rest';
export const goal = '≤ +64 MiB';

const CHILD = fileURLToPath(new URL('../lib/memory-child.mjs', import.meta.url));

export const prepare = () => gz2g();

export async function run(ctx) {
  const file = await gz2g();
  await warm(file.path);
  const job = JSON.stringify({ endpoint: ctx.sshd.endpoint(), path: file.path });
  const { stdout } = await runCmd(process.execPath, [CHILD], { env: { ...process.env, BENCH_MEMORY_JOB: job } });
  const m = JSON.parse(stdout.trim().split('\n').at(-1));
  // The higher of the two peaks: a spike between two 20 ms samples is still memory the worker needs.
  const peak = Math.max(m.sampledPeakMiB, Number.isFinite(m.hwmPeakMiB) ? m.hwmPeakMiB : 0);
  const delta = peak - m.restMiB;
  const d = m.digest;
  const problems = [];
  if (d.gzipIntact !== true) problems.push(`gzipIntact ${d.gzipIntact} (${d.gzipError ?? 'no error given'})`);
  if (d.size !== file.size) problems.push(`size ${d.size}, expected ${file.size}`);
  if (d.sha256 !== file.sha256) problems.push(`sha256 ${d.sha256}, expected ${file.sha256}`);
  return {
    ours: `peak ${peak.toFixed(1)} MiB RSS`,
    anchorValue: `${m.restMiB.toFixed(1)} MiB RSS`,
    ratio: delta,
    ratioText: `${delta >= 0 ? '+' : ''}${delta.toFixed(1)} MiB`,
    pass: delta <= 64 && problems.length === 0,
    notes:
      `A child \`node\` process imports dist/activities/index.js and the SFTP client, connects, takes its RSS at rest (median of 50 samples over 1 s), ` +
      `then digests the ${(file.size / 2 ** 20).toFixed(0)} MiB .gz (one run, ${fmtMs(m.ms)}) sampling RSS every 20 ms (${m.samples} samples, peak ${m.sampledPeakMiB.toFixed(1)} MiB); ` +
      `the kernel's peak (VmHWM, reset before the digest) was ${Number.isFinite(m.hwmPeakMiB) ? `${m.hwmPeakMiB.toFixed(1)} MiB` : 'not available'}. The higher peak counts. Ratio column: peak − rest.` +
      (problems.length ? ` FAILED CHECKS: ${problems.join('; ')}.` : ' gzipIntact, size and sha256 checked.'),
  };
}
