import { Command } from 'commander';
import { COMMAND_SUMMARIES } from './summaries.js';
import { CliError, EXIT, info } from './output.js';

interface CodecServerOpts {
  config?: string;
  ip: string;
  port: string;
  uiOrigin?: string;
  token?: string;
}

/** `sddc-ops codec-server`: the payload codec over HTTP, so the Web UI (and `temporal` CLI) can read encrypted runs. */
export function codecServerCommand(): Command {
  return new Command('codec-server')
    .description(COMMAND_SUMMARIES['codec-server'])
    .option('--config <file>', 'config whose temporal.encryption holds the keys (default: the usual search)')
    .option('--ip <ip>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', '8234')
    .option('--ui-origin <url>', "the Web UI's origin, the only one browsers may call from (default: temporal.uiUrl's origin)")
    .option('--token <ref>', 'the bearer token, as a secret reference: env:NAME or file:PATH')
    .addHelpText(
      'after',
      '\nClients send `Authorization: Bearer <token>`; the Web UI, which can send it only with an SSO login, may instead be pointed at\n' +
        'http://HOST:PORT/<token> (the token is then the first path segment: keep that URL as secret as the token).\n' +
        'Point the UI at it: temporal server start-dev --ui-codec-endpoint URL, or the UI\'s TEMPORAL_CODEC_ENDPOINT.\n',
    )
    .action(async (o: CodecServerOpts) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new CliError(`--port must be a port number 1-65535, got "${o.port}"`, EXIT.BAD_INPUT);
      if (!o.token) throw new CliError('--token is required: a secret reference to the bearer token, e.g. --token env:SDDC_CODEC_TOKEN (make one: openssl rand -hex 32)', EXIT.BAD_INPUT);
      const [{ loadConfig }, { resolveSecret, isSecretRef }, { payloadCodecFor }, { startCodecServer }] = await Promise.all([
        import('../config/load.js'),
        import('../config/secrets.js'),
        import('../temporal/data-converter.js'),
        import('../temporal/codec-server.js'),
      ]);
      if (!isSecretRef(o.token)) throw new CliError('--token takes a reference (env:NAME or file:PATH), never the token itself', EXIT.BAD_INPUT);
      const { config, file } = loadConfig(o.config);
      const setting = config.temporal.encryption;
      if (!setting || setting === 'off') throw new CliError(`${file}: temporal.encryption ${setting ? 'is off' : 'is not set'}: there is nothing for a codec server to decode`, EXIT.BAD_INPUT);
      const originFrom = o.uiOrigin ?? config.temporal.uiUrl;
      let uiOrigin: string;
      try {
        uiOrigin = new URL(originFrom ?? '').origin;
      } catch {
        throw new CliError(originFrom ? `--ui-origin ${originFrom}: expected a URL such as http://127.0.0.1:8233` : 'give --ui-origin (the Web UI\'s URL), or set temporal.uiUrl in the config', EXIT.BAD_INPUT);
      }
      const token = await resolveSecret(o.token).catch((err: Error) => {
        throw new CliError(err.message, EXIT.BAD_INPUT);
      });
      if (token.length < 16) throw new CliError(`the token in ${o.token} is ${token.length} characters: use at least 16 (openssl rand -hex 32)`, EXIT.BAD_INPUT);
      const server = await startCodecServer({ codec: (await payloadCodecFor(setting))!, token, uiOrigin, ip: o.ip, port, onError: (m) => info(`codec: ${m}`) });
      info(`codec server: ${server.url} (keys ${Object.keys(setting.keys).join(', ')}; current ${setting.currentKey}; browsers from ${uiOrigin} only)`);
      await new Promise<void>((r) => {
        process.once('SIGINT', () => r());
        process.once('SIGTERM', () => r());
      });
      await server.close();
    });
}
