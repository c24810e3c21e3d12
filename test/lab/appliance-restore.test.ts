import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestLab, type TestLab } from '../fixtures/lab.js';
import { until } from '../fixtures/wait.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { VcenterClient } from '../../src/providers/vcenter/client.js';
import { startVcenterSimulator } from '../../src/lab/vcenter.js';
import type { RestoreRequest } from '../../src/providers/vcenter/types.js';
import { NsxClient } from '../../src/providers/nsx/client.js';
import { startNsxSimulator } from '../../src/lab/nsx.js';
import type { RemoteFileServer } from '../../src/providers/nsx/types.js';

let lab: TestLab;
let fresh: Awaited<ReturnType<typeof startVcenterSimulator>>;
let restoreReq: RestoreRequest;
const BACKUP_PASSWORD = 'Lab-Backup-9x!';

beforeAll(async () => {
  lab = await startTestLab({ site: 'rst' });
  const vc = lab.config.vcenter;
  const login = { url: vc.url, user: vc.user, password: await resolveSecret(vc.password), caFile: vc.caFile };
  const t = lab.config.backupTarget;
  const sftp = { location_type: 'SFTP' as const, location_user: t.user, location_password: await resolveSecret(t.password!) };
  // A real archive on the SFTP target, written by the lab's appliance.
  const c = new VcenterClient(login);
  await c.login();
  const job = await c.startBackupJob({ parts: ['common'], ...sftp, location: `sftp://${t.host}:${t.port}${t.directory}/vcenter`, backup_password: BACKUP_PASSWORD });
  await until('the backup', async () => ((await c.getJob(job.id)).state === 'SUCCEEDED' ? true : undefined), 30_000);
  await c.logout();
  const sn = join(lab.targetOnDisk, 'vcenter', 'vCenter');
  const host = readdirSync(sn)[0]!;
  const folder = readdirSync(join(sn, host))[0]!;
  restoreReq = { ...sftp, location: `sftp://${t.host}:${t.port}${t.directory}/vcenter/vCenter/${host}/${folder}`, backup_password: BACKUP_PASSWORD };
  fresh = await startVcenterSimulator({ user: vc.user, password: login.password, restoreMode: true, version: '8.0.3.00000', jobDurationMs: 400, tls: lab.tls.server });
});
afterAll(async () => {
  await fresh?.close();
  await lab?.dispose();
});

describe('the lab appliance in restore mode', () => {
  const client = async () => {
    const c = new VcenterClient({ url: fresh.url, user: lab.config.vcenter.user, password: await resolveSecret(lab.config.vcenter.password), caFile: lab.config.vcenter.caFile });
    await c.login();
    return c;
  };

  it('answers only the restore API; validate names a wrong backup password or location, and reads the archive\'s version', async () => {
    const c = await client();
    await expect(c.getVersion()).rejects.toThrow(/503.*restore mode/);
    await expect(c.validateRestore({ ...restoreReq, backup_password: 'Wrong-Pass-1!' })).rejects.toThrow(/backup password is incorrect/);
    await expect(c.validateRestore({ ...restoreReq, location: restoreReq.location.replace(/M_[^/]+$/, 'M_nothing_here') })).rejects.toThrow(/Location is not accessible or holds no backup/);
    expect(await c.validateRestore(restoreReq)).toMatchObject({ status: 'OK', version: '8.0.3.00400', parts: ['common'] });
    expect(fresh.inRestoreMode()).toBe(true);
  });

  it('a restore job runs to SUCCEEDED; the appliance is then the restored vCenter, at the archive\'s version', async () => {
    const c = await client();
    expect((await c.startRestore(restoreReq)).state).toBe('INPROGRESS');
    await expect(c.startRestore(restoreReq)).rejects.toThrow(/already in progress/);
    await until('the restore', async () => ((await c.getRestoreJob()).state === 'SUCCEEDED' ? true : undefined), 30_000);
    expect(fresh.inRestoreMode()).toBe(false);
    expect((await c.getVersion()).version).toBe('8.0.3.00400');
    await expect(c.validateRestore(restoreReq)).rejects.toThrow(/not in restore mode/);
  });
});

describe('the lab NSX Manager restores from its backups', () => {
  const PASSPHRASE = 'Nsx-Passphrase-7!';
  let rfs: RemoteFileServer;
  let manager: Awaited<ReturnType<typeof startNsxSimulator>>;
  const nsx = async (url: string) => new NsxClient({ url, user: lab.config.nsx.user, password: await resolveSecret(lab.config.nsx.password), caFile: lab.config.nsx.caFile });

  beforeAll(async () => {
    const t = lab.config.backupTarget;
    rfs = { server: t.host, port: t.port, directory_path: `${t.directory}/nsx`, protocol: { protocol_name: 'sftp', ssh_fingerprint: t.hostKeyFingerprint, authentication_scheme: { scheme_name: 'PASSWORD', username: t.user, password: await resolveSecret(t.password!) } } };
    const c = await nsx(lab.config.nsx.url);
    await c.putBackupConfig({ backup_enabled: false, remote_file_server: rfs, passphrase: PASSPHRASE });
    await c.startBackup();
    await until('the NSX backup', async () => ((await c.getBackupHistory()).cluster_backup_statuses?.[0]?.success ? true : undefined), 30_000);
    manager = await startNsxSimulator({ user: lab.config.nsx.user, password: await resolveSecret(lab.config.nsx.password), jobDurationMs: 400, tls: lab.tls.server });
  });
  afterAll(async () => manager?.close());

  it('lists the backups on the server, refuses a wrong passphrase, suspends for an operator action, then succeeds', async () => {
    const c = await nsx(manager.url);
    await c.putRestoreConfig({ remote_file_server: rfs, passphrase: 'Wrong-Passphrase-1!' });
    const [newest] = await c.restoreTimestamps();
    expect(newest).toMatchObject({ node_id: expect.stringMatching(/^[0-9a-f-]{36}$/), timestamp: expect.any(Number) });
    await expect(c.startRestore(newest!.node_id, newest!.timestamp)).rejects.toThrow(/passphrase is incorrect/);
    await c.putRestoreConfig({ remote_file_server: rfs, passphrase: PASSPHRASE });
    await expect(c.startRestore(newest!.node_id, 1)).rejects.toThrow(/No backup of node/);
    expect((await c.startRestore(newest!.node_id, newest!.timestamp)).status.value).toBe('RUNNING');
    const suspended = await until('the operator pause', async () => {
      const st = await c.getRestoreStatus();
      return st.status.value === 'SUSPENDED_FOR_USER_ACTION' ? st : undefined;
    }, 30_000);
    expect(suspended.instructions![0]).toMatchObject({ id: 'CONFIRM_FABRIC_NODES', name: expect.stringMatching(/transport nodes/) });
    await expect(c.advanceRestore([])).rejects.toThrow(/Answer every instruction: CONFIRM_FABRIC_NODES/);
    await c.advanceRestore([{ id: 'CONFIRM_FABRIC_NODES' }]);
    await until('the restore to succeed', async () => ((await c.getRestoreStatus()).status.value === 'SUCCESS' ? true : undefined), 30_000);
  });
});
