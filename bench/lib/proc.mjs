// What a process (and its descendants) cost: CPU from /proc/<pid>/stat, peak RSS from
// /proc/<pid>/status (VmHWM), which root may reset through /proc/<pid>/clear_refs.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime, stime, cutime, cstime (seconds) and ppid of a process; undefined when it is gone. */
export function statOf(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
    const n = (field) => Number(f[field - 3]);
    return { ppid: n(4), self: (n(14) + n(15)) / TICKS, children: (n(16) + n(17)) / TICKS };
  } catch {
    return undefined;
  }
}

function descendants(pid) {
  const byParent = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = statOf(name);
    if (!s) continue;
    if (!byParent.has(s.ppid)) byParent.set(s.ppid, []);
    byParent.get(s.ppid).push(Number(name));
  }
  const out = [];
  const walk = (p) => {
    for (const c of byParent.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(Number(pid));
  return out;
}

/**
 * CPU seconds a process has used, with the children it has reaped (cutime/cstime) and, with
 * `tree`, the ones still alive: sshd forks a process per connection, so its cost is in them.
 */
export function cpuSeconds(pid, { tree = false } = {}) {
  const s = statOf(pid);
  if (!s) return NaN;
  let total = s.self + s.children;
  if (tree) for (const c of descendants(pid)) {
    const d = statOf(c);
    if (d) total += d.self + d.children;
  }
  return total;
}

const statusField = (pid, name) => {
  try {
    const m = new RegExp(`${name}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
};
/** Peak RSS (MiB) since the process started or since resetPeak. */
export const peakRssMiB = (pid) => statusField(pid, 'VmHWM');
export const rssMiB = (pid) => statusField(pid, 'VmRSS');
/** Resets VmHWM to the current RSS (Linux, root or the same user); false when it cannot. */
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
