// A stand-in for the worker: loads the worker's activities (so their modules count at rest),
// connects, measures RSS at rest, then digests one file while sampling RSS every 20 ms.
// Input: env BENCH_MEMORY_JOB = JSON {endpoint, path}. Output: one JSON line on stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import '../../dist/activities/index.js';
import { PinnedSftp } from '../../dist/src/providers/sftp/client.js';

const MiB = 1024 * 1024;
const { endpoint, path } = JSON.parse(process.env.BENCH_MEMORY_JOB);
const rss = () => process.memoryUsage.rss();
/** Peak RSS since start or since the last reset (Linux VmHWM), in bytes. */
const hwm = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) * 1024;

const sftp = await PinnedSftp.connect(endpoint);
const rest = [];
for (let i = 0; i < 50; i++) {
  rest.push(rss());
  await sleep(20);
}
let hwmReset = true;
try {
  writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS
} catch {
  hwmReset = false;
}
let peak = rss();
let samples = 0;
const timer = setInterval(() => {
  peak = Math.max(peak, rss());
  samples++;
}, 20);
const t0 = performance.now();
const digest = await sftp.digest(path);
const ms = performance.now() - t0;
clearInterval(timer);
peak = Math.max(peak, rss());
const peakHwm = hwmReset ? hwm() : NaN;
await sftp.close();
const sorted = [...rest].sort((a, b) => a - b);
process.stdout.write(
  JSON.stringify({ restMiB: sorted[sorted.length >> 1] / MiB, sampledPeakMiB: peak / MiB, hwmPeakMiB: peakHwm / MiB, samples, ms, digest }) + '\n',
);
