import { Command } from 'commander';
import { COMMAND_SUMMARIES } from './summaries.js';
import { resolve, join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ensureTemporalCli } from '../temporal/cli-provision.js';
import { startDevServer } from '../temporal/dev-server.js';
import { createWorker, installRuntime } from '../temporal/worker.js';
import { DEFAULT_TASK_QUEUE } from '../temporal/search-attributes.js';
import { startLab, type Lab, type SftpKind } from '../lab/lab.js';
import { loadConfig } from '../config/load.js';
import { runBackup } from './backup-run.js';
import { backupInput } from '../temporal/inputs.js';
import { CliError, EXIT, info } from './output.js';

interface DevOpts {
  dataDir: string;
  ip: string;
  port: string;
  uiPort: string;
  namespace: string;
  lab: boolean;
  labSftp: SftpKind;
  demo?: boolean;
  exitAfterDemo?: boolean;
}

function portOf(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new CliError(`${flag} must be a port number 1-65535, got "${v}"`, EXIT.BAD_INPUT);
  return n;
}

export function devCommand(): Command {
  return new Command('dev')
    .description(COMMAND_SUMMARIES.dev)
    .option('--data-dir <dir>', 'where the server database, lab files and lab config live', '.sddc-ops')
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'Temporal frontend port', '7233')
    .option('--ui-port <port>', 'Temporal Web UI port', '8233')
    .option('--namespace <ns>', 'namespace', 'default')
    .option('--no-lab', 'do not start the lab simulators')
    .option('--lab-sftp <kind>', 'lab SFTP server: sshd (OpenSSH, needs root), ssh2 (built in), auto', 'auto')
    .option('--demo', 'run one coordinated backup of the lab site once everything is up, then keep serving the UI')
    .option('--exit-after-demo', 'with --demo: stop everything after the backup (for scripts)')
    .addHelpText('after', '\nExample:\n  sddc-ops dev --demo          # then open the printed Web UI link\n')
    .action(async (o: DevOpts) => {
      const port = portOf(o.port, '--port');
      const uiPort = portOf(o.uiPort, '--ui-port');
      if (!['auto', 'sshd', 'ssh2'].includes(o.labSftp)) throw new CliError('--lab-sftp must be auto, sshd or ssh2', EXIT.BAD_INPUT);
      installRuntime();
      const dataDir = resolve(o.dataDir);
      const cli = await ensureTemporalCli({ onProgress: info });
      info(`temporal CLI: ${cli.path} (${cli.source})`);
      const server = await startDevServer({ cliPath: cli.path, dataDir: join(dataDir, 'temporal'), ip: o.ip, port, uiPort, namespace: o.namespace });
      const cleanups: (() => Promise<void>)[] = [() => server.stop()];
      let lab: Lab | undefined;
      try {
        if (o.lab) {
          lab = await startLab({
            dir: join(dataDir, 'lab'),
            sftp: o.labSftp,
            temporal: { address: server.address, namespace: o.namespace, uiUrl: server.uiUrl },
          });
          cleanups.unshift(() => lab!.stop());
        }
        const nativeConnection = await NativeConnection.connect({ address: server.address });
        const worker = await createWorker({ connection: nativeConnection, namespace: o.namespace, configFile: lab?.configPath });
        const running = worker.run();
        cleanups.unshift(async () => {
          worker.shutdown();
          await running;
          await nativeConnection.close();
        });

        info(`\nTemporal Web UI: ${server.uiUrl}`);
        info(`Temporal address: ${server.address} (namespace ${o.namespace}, task queue ${DEFAULT_TASK_QUEUE})`);
        if (lab) {
          info(`lab: NSX ${lab.nsx.url}, vCenter ${lab.vcenter.url}, SFTP ${lab.sftp.kind} on ${lab.sftp.host}:${lab.sftp.port} (${lab.sftp.fingerprint})`);
          info(`lab config: ${lab.configPath}`);
          info(`try: sddc-ops backup run --site ${lab.site} --config ${lab.configPath}`);
        }

        let demoExit: number = EXIT.OK;
        if (o.demo && lab) {
          const connection = await Connection.connect({ address: server.address });
          const { config } = loadConfig(lab.configPath);
          demoExit = await runBackup(new Client({ connection, namespace: o.namespace }), {
            site: lab.site,
            input: backupInput(lab.site),
            siteConfig: config.sites[lab.site]!,
            taskQueue: config.temporal.taskQueue,
            namespace: o.namespace,
            uiUrl: server.uiUrl,
            wait: true,
            json: false,
          });
          await connection.close();
          if (demoExit === EXIT.OK) info(`backup files are under ${lab.sftp.diskPath(lab.siteConfig.backupTarget.directory)}`);
        }
        if (!o.exitAfterDemo) {
          info('\nCtrl-C stops the server, the lab and the worker.');
          await new Promise<void>((r) => {
            process.once('SIGINT', () => r());
            process.once('SIGTERM', () => r());
            void server.exited.then(() => {
              info('the Temporal dev server exited');
              r();
            });
          });
        }
        process.exitCode = demoExit;
      } finally {
        info('stopping…');
        for (const c of cleanups) await c().catch((e) => info(`  ${(e as Error).message}`));
      }
    });
}
