import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import * as activities from '../../activities/index.js';
import { backupStarter, startWorkerEnv } from '../fixtures/temporal.js';
import { editLabConfig, type TestLab } from '../fixtures/lab.js';
import { manifestsOnDisk } from '../fixtures/manifest.js';
import { cli } from '../fixtures/stack.js';
import { createCa } from '../../src/lab/tls.js';

let env: TestWorkflowEnvironment;
let lab: TestLab;
let stop: () => Promise<void>;
let wrongCaFile: string;
const taskQueue = 'tls-test';
/** What the worker logged at WARN and above (activities log through it). */
const logged: LogEntry[] = [];

beforeAll(async () => {
  // Installed before startWorkerEnv's (which then finds this one): the activities' warnings land here.
  Runtime.install({ logger: new DefaultLogger('WARN', (e) => void logged.push(e)) });
  ({ env, lab, stop } = await startWorkerEnv({ site: 'tls', taskQueue, activities }));
  wrongCaFile = join(lab.dir, 'not-the-lab-ca.pem');
  writeFileSync(wrongCaFile, (await createCa('some other CA')).certPem);
});
afterAll(async () => stop?.());

const backups = backupStarter(() => ({ env, lab }), taskQueue);
let putBack: (() => void) | undefined;
afterEach(() => {
  putBack?.();
  putBack = undefined;
});
const withSite = (edit: (site: Record<string, any>) => void) => (putBack = editLabConfig(lab.configPath, (doc) => edit(doc.sites[lab.site]!)));

/** The run ends failed; its failure, and whether any activity of it was tried more than once. */
async function failedRun(h: WorkflowHandle): Promise<{ failure: ApplicationFailure; retried: boolean }> {
  const err = await h.result().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure).toBeInstanceOf(ApplicationFailure);
  // A started event is written once per activity, with the attempt that ended it.
  const attempts = (await h.fetchHistory()).events!.flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : []));
  return { failure, retried: attempts.some((a) => a > 1) };
}

const port = (url: string) => new URL(url).port;

describe('a coordinated backup and the TLS of its endpoints (real Temporal, the HTTPS lab)', () => {
  it('an NSX caFile of another CA stops the run at preflight, at once and without retries, saying what to check', async () => {
    withSite((s) => (s.nsx.caFile = wrongCaFile));
    const started = Date.now();
    const { failure, retried } = await failedRun(await backups.start());
    expect(Date.now() - started, 'no retries over minutes').toBeLessThan(20_000);
    expect(retried).toBe(false);
    expect(failure.type).toBe('TlsVerifyFailed');
    expect(failure.message).toMatch(
      new RegExp(`failed at step "preflight": NSX Manager at 127\\.0\\.0\\.1:${port(lab.config.nsx.url)}: TLS certificate not accepted: it is signed by a CA this machine does not trust .* check the endpoint's caFile \\(.*not-the-lab-ca\\.pem\\)`),
    );
  });

  it('a vCenter certificate other than the pinned one stops the run the same way, naming both fingerprints', async () => {
    const pin = '0F:'.repeat(31) + '0F';
    withSite((s) => (s.vcenter.certFingerprint = pin));
    const started = Date.now();
    const { failure, retried } = await failedRun(await backups.start());
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(retried).toBe(false);
    expect(failure.type).toBe('TlsVerifyFailed');
    const actual = new X509Certificate(lab.tls.server.certPem).fingerprint256;
    expect(failure.message).toContain(`vCenter appliance at 127.0.0.1:${port(lab.config.vcenter.url)}: TLS certificate not accepted: its SHA-256 fingerprint ${actual} does not match the pinned ${pin}`);
    expect(failure.message).toContain("check the endpoint's certFingerprint");
  });

  it('insecure vCenter (wrong caFile) and a pinned NSX: the set completes, every unchecked use is warned, and the manifest records it', async () => {
    const fingerprint = new X509Certificate(lab.tls.server.certPem).fingerprint256.toLowerCase();
    withSite((s) => {
      s.vcenter.caFile = wrongCaFile;
      s.vcenter.insecure = true;
      s.nsx.certFingerprint = fingerprint;
    });
    const from = logged.length;
    const result = await (await backups.start()).result();
    expect(result.status).toBe('complete');
    const manifest = manifestsOnDisk(lab.targetOnDisk).find((m) => m.setId === result.setId)!;
    expect(manifest.insecureEndpoints).toEqual(['vcenter']);

    const warnings = logged.slice(from).filter((e) => e.message.startsWith('TLS verification is off for'));
    expect(warnings.every((w) => w.level === 'WARN' && w.message.includes(`vCenter appliance at 127.0.0.1:${port(lab.config.vcenter.url)} (insecure: true in the config)`))).toBe(true);
    // Every use: the preflight login, the start, the wait — each activity that reached the appliance warned.
    const inActivities = new Set(warnings.map((w) => w.meta?.activityType));
    for (const a of ['preflightProducts', 'startVcenterBackup', 'waitForVcenterBackup']) expect(inActivities, a).toContain(a);
    expect(warnings.length).toBeGreaterThanOrEqual(6);

    const shown = await cli(['backup', 'show', result.setId, '--config', lab.configPath]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('INSECURE   made without checking the TLS certificate of vcenter (insecure: true in the config)');
  });

  it('a set made with every certificate checked records no insecure endpoint', async () => {
    const result = await (await backups.start()).result();
    expect(manifestsOnDisk(lab.targetOnDisk).find((m) => m.setId === result.setId)!.insecureEndpoints).toBeUndefined();
  });
});
