// Facts about the machine and the tree, for RESULTS.md.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

const root = new URL('../../', import.meta.url).pathname;

function sh(cmd, args) {
  try {
    const out = execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.trim();
  } catch (err) {
    return (err.stderr?.toString() || err.message).trim();
  }
}

export const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

export function machineFacts() {
  const c = cpus();
  const status = sh('git', ['status', '--porcelain']);
  return {
    cpu: `${c.length} × ${c[0]?.model ?? 'unknown'}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `Linux ${release()}`,
    node: process.version,
    openssh: sh('bash', ['-c', 'ssh -V 2>&1']),
    ssh2: JSON.parse(readFileSync(new URL('node_modules/ssh2/package.json', `file://${root}`), 'utf8')).version,
    commit: `${sh('git', ['rev-parse', 'HEAD'])} (${status ? `dirty: ${status.split('\n').length} changed/untracked paths` : 'clean'})`,
  };
}
