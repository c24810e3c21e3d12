#!/usr/bin/env node
// `npm run bench` (or `node bench/run.mjs [id …]` after `npm run build`): runs the figure modules
// in bench/figures/*.mjs, sorted by file name, against a bench-owned OpenSSH sshd; writes
// bench/RESULTS.md and prints its table. Exit code 1 when a figure misses its goal (or fails).
//
// A figure module exports (named, or as its default export) { id, figure, anchor, goal, run(ctx) }
// and optionally prepare(ctx) (make test data; all prepares run before any figure is timed).
// run(ctx) resolves with { ours, anchorValue, ratio, pass, notes?, ratioText? }; ratio may be
// null when there is no anchor. ctx: { sshd, workDir, log }.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_DIR } from './lib/data.mjs';
import { load, machineFacts } from './lib/machine.mjs';
import { startSshd } from './lib/sshd.mjs';
import { fmtMs, killRunning } from './lib/timing.mjs';
import { ROUNDS } from './lib/throughput.mjs';

const figuresDir = new URL('./figures/', import.meta.url);
const resultsFile = new URL('./RESULTS.md', import.meta.url);
const log = (...a) => console.error(...a);

const files = readdirSync(figuresDir).filter((f) => f.endsWith('.mjs')).sort();
const all = [];
for (const f of files) {
  const mod = await import(new URL(f, figuresDir).href);
  all.push({ file: f, ...(mod.default ?? mod) });
}
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.some((m) => m.id === w));
if (unknown.length) {
  log(`unknown figure id(s): ${unknown.join(', ')}; known: ${all.map((m) => m.id).join(', ')}`);
  process.exit(2);
}
const selected = wanted.length ? all.filter((m) => wanted.includes(m.id)) : all;

const startedAt = new Date();
const loadBefore = load();
// On tmpfs when there is one: anchors that write files then time SFTP, not this machine's disk.
const workDir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'sddc-ops-bench-'));
let sshd;
const cleanUp = () => {
  killRunning();
  sshd?.stop();
  rmSync(workDir, { recursive: true, force: true });
};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    log(`\n${sig}: stopping the bench sshd`);
    cleanUp();
    process.exit(130);
  });
}

const results = [];
const t0 = performance.now();
try {
  sshd = await startSshd(join(workDir, 'sshd'));
  log(`bench sshd on 127.0.0.1:${sshd.port} (${sshd.fingerprint}); data in ${DATA_DIR}`);
  const ctx = { sshd, workDir, log };
  log('preparing test data …');
  await Promise.all(selected.map((m) => m.prepare?.(ctx)));
  for (const m of selected) {
    log(`\n[${m.id}] ${m.figure} — vs ${m.anchor}`);
    const ft = performance.now();
    let r;
    try {
      r = await m.run(ctx);
    } catch (err) {
      r = { ours: 'error', anchorValue: '—', ratio: null, pass: false, notes: `ERROR: ${err?.stack ?? err}` };
    }
    results.push({ m, r });
    log(`[${m.id}] ours ${r.ours}; anchor ${r.anchorValue}; ratio ${ratioText(r)} → ${r.pass ? 'PASS' : 'FAIL'} (${fmtMs(performance.now() - ft)})`);
  }
} finally {
  await sshd?.stop();
  rmSync(workDir, { recursive: true, force: true });
}

function ratioText(r) {
  if (r.ratioText) return r.ratioText;
  return typeof r.ratio === 'number' && Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}×` : '—';
}

const cell = (s) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const table = [
  '| figure | ours | anchor | ratio | goal | result |',
  '|---|---|---|---|---|---|',
  ...results.map(({ m, r }) => `| ${cell(m.figure)} | ${cell(r.ours)} | ${cell(r.anchorValue)} | ${cell(ratioText(r))} | ${cell(m.goal)} | ${r.pass ? 'PASS' : '**FAIL**'} |`),
].join('\n');

const facts = machineFacts();
const md = `# sddc-ops benchmark results

Run ${startedAt.toISOString()} by \`npm run bench\`${wanted.length ? ` (only: ${wanted.join(' ')})` : ''}, ${fmtMs(performance.now() - t0)} in all.

## Machine

- CPU: ${facts.cpu}
- Memory: ${facts.memory}
- Load average (1/5/15 min): before ${loadBefore}, after ${load()}
- Kernel: ${facts.kernel}
- Node: ${facts.node}
- OpenSSH: ${facts.openssh}
- ssh2: ${facts.ssh2}
- Commit: ${facts.commit}

## Results

${table}

## Method

- One run of everything on this machine; each figure is a ratio against its anchor measured in the same run, so the machine's speed and noise mostly cancel out.
- Server: a bench-owned OpenSSH sshd (\`/usr/sbin/sshd -D\`, own sshd_config) on a free 127.0.0.1 port, ECDSA P-256 host key, root logging in with a bench-made ed25519 key, \`Subsystem sftp internal-sftp\`; both sides use it with the same key and default algorithms (OpenSSH picks its own default cipher, ssh2 its own).
- Ours is the project's compiled code from dist/ (\`PinnedSftp\`, the CLI); anchors are the OpenSSH clients \`sftp\`/\`ssh\` with coreutils/gzip.
- Throughput figures: the file's page cache is warmed first (\`cat F > /dev/null\`), then ours and the anchor run interleaved, ${ROUNDS} rounds each (order alternating per round), and the **medians** are compared. Throughput = file size / wall time, connection set-up included on both sides.
- Test data (cached in ${DATA_DIR}, reused when size and recipe match): 2 GiB of random bytes; a ~1 GiB .tar.gz (a tar of a 384 MiB SQL-dump-like text and 1170 MiB of base64 of random bytes, gzip level 1, about 1.5:1); a ~2 GiB .gz (3 MiB of base64-of-random for each 1 MiB of SQL-like text, gzip level 1, one member); 5,000 complete, verified backup-set manifests (~3.7 KiB each, pretty-printed JSON).

## Notes

${results.map(({ m, r }) => `- **${m.id}** (${m.file}): ${r.notes ?? ''}`).join('\n')}
`;
// The Fleet section (`npm run bench:fleet`, between its markers) is another bench's: kept as it is.
let fleet = '';
try {
  const prev = readFileSync(resultsFile, 'utf8');
  const b = prev.indexOf('<!-- fleet:begin');
  const e = prev.indexOf('<!-- fleet:end -->');
  if (b >= 0 && e > b) fleet = `\n${prev.slice(b, e + '<!-- fleet:end -->'.length)}\n`;
} catch {
  /* no results yet */
}
writeFileSync(resultsFile, md + fleet);
console.log(table);
log(`\nwrote ${resultsFile.pathname}`);
process.exit(results.length && results.every(({ r }) => r.pass) ? 0 : 1);
