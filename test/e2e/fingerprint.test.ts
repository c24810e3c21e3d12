import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as activities from '../../activities/index.js';
import { startWorkerEnv } from '../fixtures/temporal.js';
import { labFetch, setFaults, type TestLab } from '../fixtures/lab.js';
import { cli } from '../fixtures/stack.js';
import { freePort } from '../../src/lab/sftp-server.js';

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
const taskQueue = 'fingerprint-test';
beforeAll(async () => {
  ({ env, lab, stop } = await startWorkerEnv({ site: 'fp', taskQueue, activities }));
}, 120_000);
afterAll(async () => stop?.());

describe('SFTP host identities', () => {
  it('sftp fingerprint prints what ssh-keyscan | ssh-keygen -lf prints, and the pin the lab config holds', async () => {
    const { host, port } = lab.config.backupTarget;
    const ours = await cli(['sftp', 'fingerprint', `${host}:${port}`]);
    expect(ours.code, ours.stderr).toBe(0);
    const scan = spawnSync('sh', ['-c', `ssh-keyscan -t ecdsa -p ${port} ${host} 2>/dev/null | ssh-keygen -lf -`], { encoding: 'utf8' });
    expect(scan.status, scan.stderr).toBe(0);
    expect(ours.stdout).toBe(scan.stdout);
    expect(JSON.parse((await cli(['sftp', 'fingerprint', `${host}:${port}`, '--json'])).stdout)).toMatchObject({ host, port, fingerprint: lab.config.backupTarget.hostKeyFingerprint, type: expect.stringMatching(/^ecdsa-sha2-nistp/) });
    expect((await cli(['sftp', 'fingerprint', 'host:notaport'])).code).toBe(2);
    expect((await cli(['sftp', 'fingerprint', `127.0.0.1:${await freePort()}`])).code).toBe(1);
  });

  it('a backup whose NSX Manager sees another host key at the target than the pin stops before anything starts, naming both', async () => {
    const other = 'SHA256:' + 'B'.repeat(43);
    const started = lab.nsx.backupsStarted();
    await setFaults(lab.nsx.url, { fingerprintSeenByNsx: other });
    try {
      const err = await env.client.workflow.execute('coordinatedBackup', { taskQueue, workflowId: 'fp-mismatch', args: [{ site: lab.site }] }).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause.type).toBe('FingerprintMismatch');
      expect(cause.message).toContain(`NSX Manager sees host key ${other}`);
      expect(cause.message).toContain(lab.config.backupTarget.hostKeyFingerprint);
      expect(cause.message).toContain('step "preflight"');
      expect(lab.nsx.backupsStarted()).toBe(started);
    } finally {
      await labFetch(`${lab.nsx.url}/lab/faults`, { method: 'DELETE' });
    }
    // The same NSX, seeing the pinned key again: the backup goes through.
    const ok = (await env.client.workflow.execute('coordinatedBackup', { taskQueue, workflowId: 'fp-ok', args: [{ site: lab.site }] })) as { status: string };
    expect(ok.status).toBe('complete');
  });
});
