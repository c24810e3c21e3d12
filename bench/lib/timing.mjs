import { spawn } from 'node:child_process';

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Milliseconds since some point, with sub-millisecond resolution. */
export const now = () => performance.now();

/** Runs `fn` and gives its result and wall time in ms. */
export async function timed(fn) {
  const t0 = now();
  const result = await fn();
  return { ms: now() - t0, result };
}

/** Commands running now: killed if the bench is interrupted. */
const live = new Set();
export const killRunning = () => live.forEach((c) => c.kill('SIGTERM'));

/**
 * Runs a command to completion; rejects when it exits non-zero. Resolves with its wall time
 * (from spawn to exit) and its output.
 */
export function run(cmd, args, { maxStdout = 64 * MiB, ...opts } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    live.add(child);
    const out = [];
    let outLen = 0;
    let err = '';
    child.stdout.on('data', (d) => {
      if (outLen < maxStdout) out.push(d);
      outLen += d.length;
    });
    child.stderr.on('data', (d) => (err = (err + d).slice(-8000)));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      live.delete(child);
      const ms = now() - t0;
      const stdout = Buffer.concat(out).toString();
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ').slice(0, 200)} exited ${code ?? signal}: ${err.trim().slice(-1000)}`));
      else resolve({ ms, stdout, stderr: err });
    });
  });
}

/**
 * `rounds` rounds of ours and the anchor, interleaved (the order alternates each round so neither
 * always runs on a machine the other just warmed or loaded). Each fn resolves with its wall time
 * in ms, or an object { ms, ... } whose extra fields are kept.
 */
export async function interleaved(rounds, ours, anchor, log = () => {}) {
  const res = { ours: [], anchor: [] };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['ours', 'anchor'] : ['anchor', 'ours'];
    for (const side of order) {
      const out = await (side === 'ours' ? ours(r) : anchor(r));
      const sample = typeof out === 'number' ? { ms: out } : out;
      res[side].push(sample);
      log(`  round ${r + 1} ${side.padEnd(6)} ${sample.ms.toFixed(1)} ms`);
    }
  }
  return { ...res, oursMs: median(res.ours.map((s) => s.ms)), anchorMs: median(res.anchor.map((s) => s.ms)) };
}

export const mbps = (bytes, ms) => bytes / MiB / (ms / 1000);
export const fmtMs = (ms) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
export const fmtRate = (r) => `${r.toFixed(0)} MiB/s`;
export const fmtList = (xs, f) => xs.map(f).join(', ');
