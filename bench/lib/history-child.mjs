// Run by the history figure under the fast clock: the lab (NSX and vCenter simulators, an SFTP
// server) and an sddc-ops worker, against the Temporal server the parent started. Prints one JSON
// line {configPath, site} when ready; stops everything on SIGTERM.
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { NativeConnection } from '@temporalio/worker';
import { startLab } from '../../dist/src/lab/lab.js';
import { createWorker, installRuntime } from '../../dist/src/temporal/worker.js';

const [dir, address, vcenterJobMs] = process.argv.slice(2);
installRuntime();
const lab = await startLab({ dir, sftp: 'auto', vcenterJobMs: Number(vcenterJobMs), temporal: { address } });
// Default settings: the lab writes a short poll interval and timeout for its own demos; drop them.
const doc = parse(readFileSync(lab.configPath, 'utf8'));
for (const site of Object.values(doc.sites)) delete site.backup;
writeFileSync(lab.configPath, stringify(doc));

const connection = await NativeConnection.connect({ address });
const worker = await createWorker({ connection, namespace: 'default', configFile: lab.configPath, encryption: doc.temporal.encryption });
const running = worker.run();
process.stdout.write(JSON.stringify({ configPath: lab.configPath, site: lab.site }) + '\n');
process.once('SIGTERM', async () => {
  worker.shutdown();
  await running.catch(() => undefined);
  await connection.close();
  await lab.stop();
  process.exit(0);
});
