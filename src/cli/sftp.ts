import { Command } from 'commander';
import { COMMAND_SUMMARIES } from './summaries.js';
import { CliError, EXIT, printJson } from './output.js';

/** `sddc-ops sftp fingerprint HOST[:PORT]`: the value to pin, read from the server as NSX reads it. */
export function sftpCommand(): Command {
  const sftp = new Command('sftp').description(COMMAND_SUMMARIES.sftp);
  sftp
    .command('fingerprint <host[:port]>')
    .description('Print the SFTP server\'s ECDSA host key fingerprint (SHA-256) as `ssh-keyscan -t ecdsa HOST | ssh-keygen -lf -` does: the value for backupTarget.hostKeyFingerprint')
    .option('--json', 'machine-readable: {host, port, fingerprint, type, bits}')
    .addHelpText('after', '\nCompare it with what NSX Manager sees (POST /api/v1/cluster/backups?action=retrieve_ssh_fingerprint): every backup does, and refuses a difference.\n\nExample:\n  sddc-ops sftp fingerprint sftp01.tokyo.example.com:22\n')
    .action(async (where: string, o: { json?: boolean }) => {
      const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(where);
      const port = Number(m?.[2] ?? 22);
      if (!m || port < 1 || port > 65535) throw new CliError(`${where}: expected HOST or HOST:PORT`, EXIT.BAD_INPUT);
      const host = m[1]!.replace(/^\[|\]$/g, '');
      const { scanHostKey } = await import('../providers/sftp/keyscan.js');
      let key;
      try {
        key = await scanHostKey(host, port);
      } catch (err) {
        throw new CliError((err as Error).message, EXIT.RUN_FAILED);
      }
      if (o.json) return printJson({ host, port, ...key });
      process.stdout.write(`${key.bits} ${key.fingerprint} ${port === 22 ? host : `[${host}]:${port}`} (ECDSA)\n`);
    });
  return sftp;
}
