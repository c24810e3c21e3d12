import { Command } from 'commander';
import { COMMAND_SUMMARIES } from './summaries.js';
import { resolve } from 'node:path';
import { startLab, type SftpKind } from '../lab/lab.js';
import { CliError, EXIT, info } from './output.js';

export function labCommand(): Command {
  return new Command('lab')
    .description(COMMAND_SUMMARIES.lab)
    .option('--dir <dir>', 'lab directory', '.sddc-ops/lab')
    .option('--sftp <kind>', 'sshd (OpenSSH, needs root), ssh2 (built in) or auto', 'auto')
    .option('--nsx-port <port>', 'NSX simulator port (default: any free port)')
    .option('--vcenter-port <port>', 'vCenter simulator port (default: any free port)')
    .option('--nsx-flavor <flavor>', 'the site\'s NSX: nsx-t (NSX-T 3.x / NSX 4.x) or nsx-v (NSX for vSphere 6.4)', 'nsx-t')
    .addHelpText('after', '\nExample:\n  curl --cacert .sddc-ops/lab/tls/ca.pem -X PUT -H content-type:application/json -d \'{"failJob":{"message":"disk full"}}\' https://127.0.0.1:PORT/lab/faults\n')
    .action(async (o: { dir: string; sftp: SftpKind; nsxPort?: string; vcenterPort?: string; nsxFlavor: string }) => {
      if (o.nsxFlavor !== 'nsx-t' && o.nsxFlavor !== 'nsx-v') throw new CliError(`--nsx-flavor ${o.nsxFlavor}: expected nsx-t or nsx-v`, EXIT.BAD_INPUT);
      const lab = await startLab({ dir: resolve(o.dir), sftp: o.sftp, nsxPort: o.nsxPort ? Number(o.nsxPort) : undefined, vcenterPort: o.vcenterPort ? Number(o.vcenterPort) : undefined, nsxFlavor: o.nsxFlavor });
      info(`NSX Manager simulator: ${lab.nsxv ? `${lab.nsxv.url} (NSX for vSphere)` : lab.nsx.url}\nvCenter appliance simulator: ${lab.vcenter.url}`);
      info(`drill sandbox: vCenter ${lab.sandbox.vcenter.url} (restore mode), NSX ${lab.sandbox.nsxv?.url ?? lab.sandbox.nsx.url}; redeployed before each drill`);
      info(
        lab.vsphere
          ? `vCenter SOAP (govmomi simulator, datacenter DC0, cluster DC0_C0): ${lab.vcenter.url}/sdk — faults: PUT ${lab.vsphere.sdkUrl.replace(/\/sdk$/, '')}/lab/faults`
          : 'vCenter SOAP (/sdk): not available — Go is needed to build the simulator',
      );
      info(`SFTP (${lab.sftp.kind}): ${lab.sftp.host}:${lab.sftp.port}, host key ${lab.sftp.fingerprint}`);
      info(`TLS: every endpoint serves HTTPS with a certificate of the lab's CA ${lab.tls.caFile} (each endpoint's caFile in the config)`);
      info(`config: ${lab.configPath}\nCtrl-C to stop.`);
      await new Promise<void>((r) => {
        process.once('SIGINT', () => r());
        process.once('SIGTERM', () => r());
      });
      await lab.stop();
    });
}
