import { Command } from 'commander';
import { COMMAND_SUMMARIES } from './summaries.js';
import { resolve, join } from 'node:path';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ensureTemporalCli } from '../temporal/cli-provision.js';
import { assertPortFree, startDevServer } from '../temporal/dev-server.js';
import { createWorker, installRuntime } from '../temporal/worker.js';
import { DEFAULT_TASK_QUEUE } from '../temporal/search-attributes.js';
import { startLab, type Lab, type SftpKind } from '../lab/lab.js';
import { loadConfig } from '../config/load.js';
import { runBackup } from './backup-run.js';
import { backupInput } from '../temporal/inputs.js';
import { CliError, EXIT, info } from './output.js';
import { clientDataConverter, localPayloadKey, payloadCodecFor } from '../temporal/data-converter.js';
import { startCodecServer } from '../temporal/codec-server.js';

interface DevOpts {
  dataDir: string;
  ip: string;
  port: string;
  uiPort: string;
  codecPort: string;
  namespace: string;
  lab: boolean;
  labSftp: SftpKind;
  demo?: boolean;
  exitAfterDemo?: boolean;
}

/**
 * The port to listen on: a number given is used or refused when busy; "auto", or the default when
 * it is busy, becomes the first free port from the default (saying so), never `avoid`.
 */
async function pickPort(v: string, isDefault: boolean, from: number, ip: string, what: string, flag: string, avoid: number[] = []): Promise<number> {
  if (v !== 'auto' && !isDefault) return portOf(v, flag);
  // SDDC_OPS_DEV_PORT_FROM moves where "auto" starts (tests: a port they hold).
  const start = flag === '--port' && process.env.SDDC_OPS_DEV_PORT_FROM ? Number(process.env.SDDC_OPS_DEV_PORT_FROM) : from;
  const wanted = v === 'auto' ? start : portOf(v, flag);
  for (let p = wanted; p < wanted + 100 && p <= 65535; p++) {
    if (avoid.includes(p)) continue;
    try {
      await assertPortFree(p, ip, what, flag);
      if (p !== wanted || v === 'auto') info(`${what}: ${v === 'auto' ? 'auto' : `port ${wanted} is busy`}, using ${p} (choose one with ${flag})`);
      return p;
    } catch {
      /* busy: try the next */
    }
  }
  throw new CliError(`no free port for the ${what} in ${wanted}-${wanted + 99}: pass ${flag}`, EXIT.BAD_INPUT);
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
    .option('--port <port>', 'Temporal frontend port, or auto (the first free one from 7233); a busy default moves to the next free one', '7233')
    .option('--ui-port <port>', 'Temporal Web UI port, or auto (the first free one from 8233)', '8233')
    .option('--codec-port <port>', 'port of the codec server the Web UI decodes payloads through, or auto (the first free one from 8234)', 'auto')
    .option('--namespace <ns>', 'namespace', 'default')
    .option('--no-lab', 'do not start the lab simulators')
    .option('--lab-sftp <kind>', 'lab SFTP server: sshd (OpenSSH, needs root), ssh2 (built in), auto', 'auto')
    .option('--demo', 'run one coordinated backup of the lab site once everything is up, then keep serving the UI')
    .option('--exit-after-demo', 'with --demo: stop everything after the backup (for scripts)')
    .addHelpText('after', '\nExample:\n  sddc-ops dev --demo          # then open the printed Web UI link\n')
    .action(async (o: DevOpts, cmd: Command) => {
      const port = await pickPort(o.port, cmd.getOptionValueSource('port') === 'default', 7233, o.ip, 'Temporal frontend', '--port');
      const uiPort = await pickPort(o.uiPort, cmd.getOptionValueSource('uiPort') === 'default', 8233, o.ip, 'Temporal Web UI', '--ui-port', [port]);
      const codecPort = await pickPort(o.codecPort, false, 8234, o.ip, 'codec server', '--codec-port', [port, uiPort]);
      if (!['auto', 'sshd', 'ssh2'].includes(o.labSftp)) throw new CliError('--lab-sftp must be auto, sshd or ssh2', EXIT.BAD_INPUT);
      installRuntime();
      const dataDir = resolve(o.dataDir);
      const cli = await ensureTemporalCli({ onProgress: info });
      info(`temporal CLI: ${cli.path} (${cli.source})`);
      // Payloads are encrypted with a key kept in the data dir (the database outlives this process, and so must the key);
      // the UI reads them through a codec server that only it (its origin, the token in its URL) may ask.
      const encryption = localPayloadKey(join(dataDir, 'keys'), 'dev');
      const codec = await payloadCodecFor(encryption);
      const uiOrigin = `http://${o.ip}:${uiPort}`;
      const codecServer = await startCodecServer({ codec: codec!, token: localToken(join(dataDir, 'keys')), uiOrigin, ip: o.ip, port: codecPort, onError: (m) => info(`codec server: ${m}`) });
      const codecEndpoint = `${codecServer.url}/${localToken(join(dataDir, 'keys'))}`;
      let server: Awaited<ReturnType<typeof startDevServer>>;
      try {
        server = await startDevServer({ cliPath: cli.path, dataDir: join(dataDir, 'temporal'), ip: o.ip, port, uiPort, namespace: o.namespace, uiCodecEndpoint: codecEndpoint });
      } catch (err) {
        await codecServer.close();
        throw err;
      }
      const cleanups: (() => Promise<void>)[] = [() => server.stop(), () => codecServer.close()];
      let lab: Lab | undefined;
      try {
        if (o.lab) {
          lab = await startLab({
            dir: join(dataDir, 'lab'),
            sftp: o.labSftp,
            temporal: { address: server.address, namespace: o.namespace, uiUrl: server.uiUrl, encryption },
          });
          cleanups.unshift(() => lab!.stop());
        }
        const nativeConnection = await NativeConnection.connect({ address: server.address });
        const worker = await createWorker({ connection: nativeConnection, namespace: o.namespace, configFile: lab?.configPath, encryption });
        const running = worker.run();
        cleanups.unshift(async () => {
          worker.shutdown();
          await running;
          await nativeConnection.close();
        });

        info(`\nTemporal Web UI: ${server.uiUrl}`);
        info(`Temporal address: ${server.address} (namespace ${o.namespace}, task queue ${DEFAULT_TASK_QUEUE})`);
        info(`payloads: encrypted (AES-256-GCM, key ${encryption.currentKey} in ${join(dataDir, 'keys')}); the Web UI decodes them through the codec server on ${codecServer.url}`);
        if (lab) {
          info(`lab: NSX ${lab.nsx.url}, vCenter ${lab.vcenter.url}, SFTP ${lab.sftp.kind} on ${lab.sftp.host}:${lab.sftp.port} (${lab.sftp.fingerprint})`);
          info(`lab config: ${lab.configPath} (HTTPS endpoints, CA ${lab.tls.caFile})`);
          info(`try: sddc-ops backup run --site ${lab.site} --config ${lab.configPath}`);
        }

        let demoExit: number = EXIT.OK;
        if (o.demo && lab) {
          const connection = await Connection.connect({ address: server.address });
          const { config } = loadConfig(lab.configPath);
          demoExit = await runBackup(new Client({ connection, namespace: o.namespace, dataConverter: clientDataConverter(codec) }), {
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
          if (demoExit === EXIT.OK) {
            const flags = `--config ${lab.configPath} --address ${server.address}`;
            info(`backup files are under ${lab.sftp.diskPath(lab.siteConfig.backupTarget.directory)}`);
            info(
              '\nNext:\n' +
                `  1. See the set and its run: sddc-ops backup list --site ${lab.site} --config ${lab.configPath}   (Web UI: ${server.uiUrl})\n` +
                `  2. Prove it restores, into the lab's sandbox: sddc-ops restore drill --site ${lab.site} ${flags}\n` +
                `  3. Back up every night: sddc-ops schedule create --site ${lab.site} --cron "0 2 * * *" ${flags}`,
            );
          }
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

/** The codec server's token for this data dir, made once (the UI's endpoint URL carries it). */
function localToken(dir: string): string {
  const file = join(dir, 'codec-token');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(24).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file, 'utf8').trim();
}
