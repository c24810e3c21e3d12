import { fmtList, fmtMs, interleaved, run as runCmd } from '../lib/timing.mjs';

export const id = 'help';
export const figure = '`sddc-ops --help`';
export const anchor = '`node -e 0`';
export const goal = '≤ 2.5× its time';

const RUNS = 15;
const CLI = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;

export async function run(ctx) {
  const ours = async () => {
    const r = await runCmd(process.execPath, [CLI, '--help']);
    if (!r.stdout.includes('Usage: sddc-ops')) throw new Error(`--help printed no usage: ${r.stdout.slice(0, 200)}`);
    return r;
  };
  const r = await interleaved(RUNS, ours, () => runCmd(process.execPath, ['-e', '0']), () => {});
  const ratio = r.oursMs / r.anchorMs;
  ctx.log(`  ours ${fmtList(r.ours, (s) => s.ms.toFixed(0))} ms; anchor ${fmtList(r.anchor, (s) => s.ms.toFixed(0))} ms`);
  return {
    ours: fmtMs(r.oursMs),
    anchorValue: fmtMs(r.anchorMs),
    ratio,
    pass: ratio <= 2.5,
    notes: `Wall time from spawn to exit of \`node dist/src/cli/main.js --help\` and of \`node -e 0\` (same node binary), median of ${RUNS} interleaved runs each; ratio: ours / anchor. Min/max — ours: ${fmtMs(Math.min(...r.ours.map((s) => s.ms)))}/${fmtMs(Math.max(...r.ours.map((s) => s.ms)))}; anchor: ${fmtMs(Math.min(...r.anchor.map((s) => s.ms)))}/${fmtMs(Math.max(...r.anchor.map((s) => s.ms)))}.`,
  };
}
