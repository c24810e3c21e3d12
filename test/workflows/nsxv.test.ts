import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as activities from '../../activities/index.js';
import { startWorkerEnv } from '../fixtures/temporal.js';
import { withSftp } from '../../src/providers/sftp/client.js';
import { sftpEndpoint } from '../../activities/endpoints.js';
import { SftpStore } from '../../src/catalog/store.js';
import { pruneTarget, unreferencedFolders } from '../../src/catalog/prune.js';
import { labFetch, editLabConfig, setFaults, type TestLab } from '../fixtures/lab.js';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { BackupSetId } from '../../src/temporal/search-attributes.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { startVcenterSimulator } from '../../src/lab/vcenter.js';
import { startNsxvSimulator } from '../../src/lab/nsxv.js';
import { parseNsxvBackupFileName, type BackupSetManifest } from '../../src/domain/backup-set.js';
import { ftpSettingsXml } from '../../src/providers/nsxv/xml.js';
import { restoreRunbook, runbookMarkdown } from '../../src/restore/runbook.js';
import type { RestoreSiteResult } from '../../workflows/restore/restore-site.js';
import type { RestoreDrillResult } from '../../workflows/restore/restore-drill.js';

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
const taskQueue = 'nsxv-test';
const closers: { close: () => Promise<void> }[] = [];

beforeAll(async () => {
  ({ env, lab, stop } = await startWorkerEnv({ site: 'vsite', taskQueue, activities, nsxFlavor: 'nsx-v' }));
}, 120_000);
afterAll(async () => {
  for (const c of closers) await c.close();
  await stop?.();
});

let n = 0;
const run = <T>(type: string, args: object) => env.client.workflow.execute(type, { taskQueue, workflowId: `nsxv-${type}-${++n}`, args: [args] }) as Promise<T>;
const manifest = (setId: string) => JSON.parse(readFileSync(join(lab.targetOnDisk, 'sets', setId, 'backup-set.json'), 'utf8')) as BackupSetManifest;
const keepLast1 = async () => withSftp(await sftpEndpoint(lab.config.backupTarget), (sftp) => pruneTarget(new SftpStore(sftp, lab.config.backupTarget.directory), { keepLast: 1 }, { dryRun: false, nowMs: Date.now() }));
const nsxvFiles = () => readdirSync(join(lab.targetOnDisk, 'nsx')).filter((f) => parseNsxvBackupFileName(f) !== undefined).sort();

describe('an NSX for vSphere site', () => {
  it('backs up through the XML API into one file per backup, verified and paired in a complete set with its configuration captured', async () => {
    expect(lab.config.nsx.flavor).toBe('nsx-v');
    const r = await run<{ setId: string; nsx: { backupId: string; files: number } }>('coordinatedBackup', { site: lab.site });
    const m = manifest(r.setId);
    expect(m.status).toBe('complete');
    expect(m.nsx).toMatchObject({ flavor: 'nsx-v', backupId: expect.stringMatching(/^nsx-\d\d_\d\d_\d\d_[A-Z][a-z]{2}\d\d[A-Z][a-z]{2}\d{4}$/), productVersion: '6.4.14.20609341' });
    expect(m.nsx!.folders).toEqual([`nsx/${m.nsx!.backupId}`]);
    expect(m.nsx!.files).toHaveLength(1);
    expect(m.nsx!.files[0]!.size).toBeGreaterThan(0);
    expect(m.captured!.nsx.map((i) => i.kind)).toEqual(expect.arrayContaining(['edge services gateway', 'distributed logical router', 'logical switch', 'firewall rule']));
    expect(nsxvFiles()).toEqual([m.nsx!.backupId]);
    // The file is what NSX-V wrote: sealed with the passphrase, not readable as configuration.
    expect(readFileSync(join(lab.targetOnDisk, 'nsx', m.nsx!.backupId!)).includes('esg-perimeter')).toBe(false);
    const verified = await run<{ checked: number }>('verifyBackupSet', { site: lab.site, setId: r.setId });
    expect(verified.checked).toBe(m.totals.files);
  });

  it('the runbook names the NSX-V file and the appliance-management calls', async () => {
    const setId = readdirSync(join(lab.targetOnDisk, 'sets'))[0]!;
    const m = manifest(setId);
    const rb = restoreRunbook(m, lab.config, { status: 'complete' });
    expect(rb.nsx).toMatchObject({ flavor: 'nsx-v', restoreFile: m.nsx!.backupId, timestampMs: parseNsxvBackupFileName(m.nsx!.backupId!) });
    const md = runbookMarkdown(rb);
    expect(md).toContain('NSX for vSphere');
    expect(md).toContain(`restore?restoreFile=${m.nsx!.backupId}`);
    expect(md).toContain('backupsettings/ftpsettings');
  });

  it('restores onto new appliances: vCenter, then the NSX-V file, with what the backup held', async () => {
    const login = { user: lab.config.vcenter.user, password: await resolveSecret(lab.config.vcenter.password) };
    const vcenter = await startVcenterSimulator({ ...login, restoreMode: true, jobDurationMs: 400, tls: lab.tls.server });
    const nsxv = await startNsxvSimulator({ user: lab.config.nsx.user, password: await resolveSecret(lab.config.nsx.password), jobDurationMs: 400, fresh: true, tls: lab.tls.server });
    closers.push(vcenter, nsxv);
    const putBack = editLabConfig(lab.configPath, (doc) => {
      doc.sites[lab.site]!.vcenter.url = vcenter.url;
      doc.sites[lab.site]!.nsx.url = nsxv.url;
    });
    try {
      const r = await run<RestoreSiteResult>('restoreSite', { site: lab.site, yes: true, pollMs: 200 });
      expect(r).toMatchObject({ status: 'restored', nsxVersion: '6.4.14.20609341', nsxAnswers: [] });
      expect(nsxv.restoreCount()).toBe(1);
      expect(nsxv.configState()).toEqual(lab.nsxv!.configState());
      expect(vcenter.inventory()).toEqual(lab.vcenter.inventory());
    } finally {
      putBack();
    }
  });

  it('a drill into the NSX-V sandbox passes and marks the set restore-tested; retention deletes NSX-V files and keeps the restore-tested set', async () => {
    const ok = await run<RestoreDrillResult>('restoreDrill', { site: lab.site, pollMs: 200 });
    expect(ok.compared.nsx).toContain('1 edge services gateway, 1 distributed logical router, 4 logical switches');
    expect(manifest(ok.setId).restoreTested?.drillRun).toBe(ok.drillRun);
    // Retention on NSX-V files: keep one set; the older set's file goes, nothing is left unreferenced.
    lab.nsxv!.mutateState((s) => (s.sections[0]!.rules[0]!.action = 'deny'));
    const second = await run<{ setId: string }>('coordinatedBackup', { site: lab.site });
    expect(nsxvFiles()).toHaveLength(2);
    const pruned = await keepLast1();
    // The first set is the newest restore-tested one: retention keeps it too.
    expect(pruned.decision.expire).toEqual([]);
    expect(nsxvFiles()).toHaveLength(2);
    const secondFile = manifest(second.setId).nsx!.backupId!;
    const third = await run<{ setId: string }>('coordinatedBackup', { site: lab.site });
    const again = await keepLast1();
    expect(again.decision.expire.map((e) => e.setId)).toEqual([second.setId]);
    expect(again.files.filter((f) => f.startsWith('nsx/'))).toEqual([`nsx/${secondFile}`]);
    expect(await withSftp(await sftpEndpoint(lab.config.backupTarget), (sftp) => unreferencedFolders(new SftpStore(sftp, lab.config.backupTarget.directory)))).toEqual([]);
    expect(nsxvFiles()).toEqual([manifest(ok.setId).nsx!.backupId, manifest(third.setId).nsx!.backupId].sort());
  });

  it('a backup NSX-V reports failed fails the set in NSX-V\'s words, recorded failed', async () => {
    await setFaults(lab.nsxv!.url, { failJob: { message: 'Backup failed: the appliance ran out of disk space.' } });
    const h = await env.client.workflow.start('coordinatedBackup', { taskQueue, workflowId: `nsxv-fail-${++n}`, args: [{ site: lab.site }] });
    const err = (await h.result().then(() => undefined, (e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err.cause as ApplicationFailure).type).toBe('NsxBackupFailed');
    expect(err.cause?.message).toContain('the appliance ran out of disk space');
    const setId = (await h.describe()).typedSearchAttributes.get(BackupSetId)!;
    // NSX-V failed the backup inside the call that started it: nothing of NSX to record; the vCenter job started beside it is.
    expect(manifest(setId)).toMatchObject({ status: 'failed', failureReason: expect.stringContaining('ran out of disk space'), vcenter: { jobId: expect.any(String) } });
    expect(manifest(setId).nsx).toBeUndefined();
  });

  it('ftpsettings go in the documented element order, and the manager refuses another order', async () => {
    const body = ftpSettingsXml({ transferProtocol: 'SFTP', hostNameIPAddress: 'h', port: 22, userName: 'u', password: 'p', backupDirectory: '/b', filenamePrefix: 'nsx-', passPhrase: 'Secret-123', passiveMode: true, useEPRT: false, useEPSV: true });
    expect([...body.matchAll(/<([A-Za-z]+)>/g)].map((m) => m[1]).slice(1)).toEqual(['transferProtocol', 'hostNameIPAddress', 'port', 'userName', 'password', 'backupDirectory', 'filenamePrefix', 'passPhrase', 'passiveMode', 'useEPRT', 'useEPSV']);
    const auth = `Basic ${Buffer.from(`${lab.config.nsx.user}:${await resolveSecret(lab.config.nsx.password)}`).toString('base64')}`;
    const swapped = body.replace('<port>22</port><userName>u</userName>', '<userName>u</userName><port>22</port>');
    const res = await labFetch(`${lab.nsxv!.url}/api/1.0/appliance-management/backuprestore/backupsettings/ftpsettings`, { method: 'PUT', headers: { authorization: auth, 'content-type': 'application/xml' }, body: swapped });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('out of order');
    const noType = await labFetch(`${lab.nsxv!.url}/api/1.0/appliance-management/backuprestore/backup`, { method: 'POST', headers: { authorization: auth } });
    expect(noType.status).toBe(415);
  });
});
