// The fleet lab in a process of its own (so its CPU is its own): N sites, each with its own vCenter
// simulator and target directory, NSX Managers shared by some. Prints one JSON line when ready;
// answers each "counts" line on stdin with one JSON line (backups the simulators started); stops
// everything on SIGTERM or when stdin closes.
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFleetLab } from '../../dist/src/lab/fleet.js';
import { sshdDirFor } from '../../dist/src/lab/lab.js';

const o = JSON.parse(process.argv[2]);
const lab = await startFleetLab(o);
let sshdPid;
try {
  sshdPid = Number(readFileSync(join(sshdDirFor(o.dir), 'sshd.pid'), 'utf8').trim());
} catch {
  /* the ssh2 server: no sshd */
}
let stopping;
const stop = () => (stopping ??= lab.stop().then(() => process.exit(0)));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.stdout.write(JSON.stringify({ configPath: lab.configPath, sites: lab.sites, sftp: { kind: lab.sftp.kind, host: lab.sftp.host, port: lab.sftp.port }, sshdPid }) + '\n');
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() === 'counts') process.stdout.write(JSON.stringify(lab.counts()) + '\n');
});
rl.on('close', stop);
