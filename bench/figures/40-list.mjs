import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manifestTarget } from '../lib/data.mjs';
import { fmtList, fmtMs, interleaved, run as runCmd } from '../lib/timing.mjs';

export const id = 'list';
export const figure = '`backup list` of 5,000 sets';
export const anchor = 'OpenSSH `sftp -b` fetching the same 5,000 manifests';
export const goal = '≤ 1.5× its time';

const SITE = 'bench';
const COUNT = 5000;
const ROUNDS = 3;
const CLI = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;

export const prepare = () => manifestTarget(SITE, COUNT);

/** A config whose site `bench` targets the bench sshd; product sections are required but never used by `backup list`. */
function writeConfig(ctx, directory) {
  const s = ctx.sshd;
  const unused = join(ctx.workDir, 'unused-sftp-password');
  writeFileSync(unused, 'unused: the private key logs in\n', { mode: 0o600 });
  const file = join(ctx.workDir, 'sddc-ops.bench.yaml');
  writeFileSync(
    file,
    `sites:
  ${SITE}:
    vcenter:
      url: https://vcsa01.bench.local
      user: administrator@vsphere.local
      password: env:BENCH_VC_PASSWORD
      backupPassword: env:BENCH_VC_BACKUP_PASSWORD
    nsx:
      url: https://nsx01.bench.local
      user: admin
      password: env:BENCH_NSX_PASSWORD
      backupPassphrase: env:BENCH_NSX_PASSPHRASE
    backupTarget:
      host: ${s.host}
      port: ${s.port}
      user: root
      password: file:${unused}
      privateKey: file:${s.keyFile}
      directory: ${directory}
      hostKeyFingerprint: ${s.fingerprint}
`,
  );
  return file;
}

export async function run(ctx) {
  const { dir, setIds } = manifestTarget(SITE, COUNT);
  const config = writeConfig(ctx, dir);
  const local = join(ctx.workDir, 'list-manifests'); // the work dir is on tmpfs when there is one
  const batch = join(ctx.workDir, 'list.batch');
  writeFileSync(batch, setIds.map((id) => `get ${dir}/sets/${id}/backup-set.json ${local}/${id}.json\n`).join(''));

  const ours = async () => {
    // Through a pipe, as `| jq` would read it: JSON cut short there fails the figure.
    const r = await runCmd(process.execPath, [CLI, 'backup', 'list', '--site', SITE, '--config', config, '--json']);
    const out = JSON.parse(r.stdout);
    const complete = out.sets.filter((x) => x.status === 'complete').length;
    if (out.sets.length !== COUNT || complete !== COUNT || out.unreadable.length) {
      throw new Error(`backup list gave ${out.sets.length} sets (${complete} complete), ${out.unreadable.length} unreadable; expected ${COUNT} complete`);
    }
    return r;
  };
  const theirs = async () => {
    rmSync(local, { recursive: true, force: true });
    mkdirSync(local);
    return runCmd('sftp', ctx.sshd.sftpArgs(batch));
  };
  const r = await interleaved(ROUNDS, ours, theirs, ctx.log);
  const ratio = r.oursMs / r.anchorMs;
  return {
    ours: fmtMs(r.oursMs),
    anchorValue: fmtMs(r.anchorMs),
    ratio,
    pass: ratio <= 1.5,
    notes:
      `ours: \`node dist/src/cli/main.js backup list --site ${SITE} --config … --json\` (a new process: start-up, config, connect, list, read ${COUNT} manifests, print; stdout a pipe), ` +
      `its JSON checked to hold ${COUNT} complete sets; anchor: one \`sftp -b\` with ${COUNT} \`get …/sets/<id>/backup-set.json <dir>/<id>.json\` lines, <dir> in the bench work dir (on tmpfs, /dev/shm, when there is one), emptied before each round. ` +
      `Wall time, median of ${ROUNDS} interleaved rounds; ratio: ours / anchor. Rounds — ours: ${fmtList(r.ours, (s) => fmtMs(s.ms))}; anchor: ${fmtList(r.anchor, (s) => fmtMs(s.ms))}.`,
  };
}
