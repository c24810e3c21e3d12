import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { cli, startStack, type Stack } from '../fixtures/stack.js';
import { labFetch, setFaults } from '../fixtures/lab.js';
import { createCa } from '../../src/lab/tls.js';

let stack: Stack;
let otherCaFile: string;
beforeAll(async () => {
  stack = await startStack('doc');
  otherCaFile = join(stack.dataDir, 'other-ca.pem');
  writeFileSync(otherCaFile, (await createCa('some other CA')).certPem);
});
afterAll(async () => stack?.stop());

type Check = { check: string; ok: boolean; detail: string };
/** Runs doctor on a variant of the lab's config (a copy: the worker's file stays as it is). */
async function doctor(edit?: (site: Record<string, any>, doc: Record<string, any>) => void, extra: string[] = []) {
  const doc = parse(readFileSync(stack.lab.configPath, 'utf8'));
  edit?.(doc.sites.doc, doc);
  const file = join(stack.dataDir, `doctor-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(doc));
  const r = await cli(['doctor', '--config', file, '--address', stack.server.address, '--json', ...extra]);
  return { code: r.code, stderr: r.stderr, checks: (r.stdout ? JSON.parse(r.stdout) : []) as Check[] };
}
const failing = (checks: Check[]) => checks.filter((c) => !c.ok);

describe('sddc-ops doctor', () => {
  it('passes every check on the lab, one line per check, worker and search attributes included', async () => {
    const r = await doctor();
    expect(failing(r.checks), JSON.stringify(failing(r.checks))).toEqual([]);
    expect(r.code).toBe(0);
    const names = r.checks.map((c) => c.check);
    for (const want of [/^secret file:.*\(sites\.doc\.nsx\.backupPassphrase\)$/, /SFTP target/, /NSX Manager http/, /vCenter appliance/, /drill sandbox NSX/, /^Temporal /, /^search attributes/, /^worker on task queue sddc-ops$/]) {
      expect(names.some((n) => want.test(n)), String(want)).toBe(true);
    }
    const human = await cli(['doctor', '--site', 'doc', '--config', stack.lab.configPath, '--address', stack.server.address]);
    expect(human.code).toBe(0);
    expect(human.stderr).toMatch(/^✔ .*SFTP target .* — host key SHA256:\S+ matches the pin/m);
    expect(human.stderr).toMatch(/all \d+ checks passed/);
  });

  it.each([
    ['a secret that does not resolve', (s: Record<string, any>) => (s.nsx.backupPassphrase = 'env:SDDC_DOCTOR_UNSET'), /^secret env:SDDC_DOCTOR_UNSET \(sites\.doc\.nsx\.backupPassphrase\)$/, /SDDC_DOCTOR_UNSET is not set/],
    ['a host key other than the pin', (s: Record<string, any>) => (s.backupTarget.hostKeyFingerprint = 'SHA256:' + 'A'.repeat(43)), /SFTP target/, /fingerprint|host key/i],
    ['a target directory that does not exist', (s: Record<string, any>) => (s.backupTarget.directory = '/nonexistent/sddc'), /SFTP target/, /does not exist/],
    ['an NSX password the manager refuses', (s: Record<string, any>, doc: Record<string, any>) => (s.nsx.password = doc.sites.doc.vcenter.backupPassword), /NSX Manager/, /check the user and password reference/],
    ['an NSX Manager that sees another host key at the target', (_s: Record<string, any>) => undefined, /NSX Manager sees the pinned host key/, /NSX Manager sees host key SHA256:C{43}/],
    ['a vCenter that does not answer', (s: Record<string, any>) => (s.vcenter.url = 'http://127.0.0.1:9'), /vCenter appliance/, /ECONNREFUSED|refused|connect/i],
    ['an NSX caFile of another CA', (s: Record<string, any>) => (s.nsx.caFile = otherCaFile), /^doc: NSX Manager https/, /^NSX Manager at 127\.0\.0\.1:\d+: TLS certificate not accepted: it is signed by a CA this machine does not trust .* check the endpoint's caFile \(.*other-ca\.pem\)/],
    ['a vCenter pin its certificate does not match', (s: Record<string, any>) => (s.vcenter.certFingerprint = 'AB:'.repeat(31) + 'AB'), /^doc: vCenter appliance/, /does not match the pinned AB:AB:.* check the endpoint's certFingerprint/],
    ['a sandbox vCenter caFile of another CA', (s: Record<string, any>) => (s.drill.sandbox.vcenter.caFile = otherCaFile), /drill sandbox vCenter/, /^vCenter appliance at .*: TLS certificate not accepted/],
  ])('finds %s and says what to fix', async (what, edit, check, detail) => {
    const seenByNsx = what.includes('another host key');
    if (seenByNsx) await setFaults(stack.lab.nsx.url, { fingerprintSeenByNsx: 'SHA256:' + 'C'.repeat(43) });
    const r = await doctor(edit).finally(() => (seenByNsx ? labFetch(`${stack.lab.nsx.url}/lab/faults`, { method: 'DELETE' }) : undefined));
    expect(r.code).toBe(1);
    const bad = failing(r.checks);
    expect(bad.map((c) => c.check).some((c) => check.test(c)), JSON.stringify(bad)).toBe(true);
    expect(bad.find((c) => check.test(c.check))!.detail).toMatch(detail);
  });

  it('an insecure vCenter passes its checks, warning on stderr at each use, naming it', async () => {
    const r = await doctor((s) => {
      s.vcenter.caFile = otherCaFile;
      s.vcenter.insecure = true;
    });
    expect(failing(r.checks), JSON.stringify(failing(r.checks))).toEqual([]);
    const site = new URL(stack.lab.config.vcenter.url).host;
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: TLS verification is off for'));
    // The appliance check logs in, reads the version and logs out; the SOAP check (scale-out) logs in and out.
    expect(warnings.filter((w) => w.includes(`vCenter appliance at ${site} (insecure: true`)).length, r.stderr).toBeGreaterThanOrEqual(3);
    expect(warnings.some((w) => w.includes(`vCenter (SOAP) at ${site}`)), r.stderr).toBe(true);
    // Only that endpoint: NSX is checked, and the drill sandbox's vCenter does not inherit insecure.
    expect(warnings.every((w) => w.includes(` at ${site} `)), r.stderr).toBe(true);
  });

  it('finds a task queue no worker polls, naming the command that starts one', async () => {
    const r = await doctor(undefined, ['--task-queue', 'nobody-here']);
    expect(r.code).toBe(1);
    expect(failing(r.checks)).toEqual([{ check: 'worker on task queue nobody-here', ok: false, detail: expect.stringContaining('sddc-ops worker --config') }]);
  });

  it('an unknown site is bad input', async () => {
    expect((await cli(['doctor', '--site', 'nosuch', '--config', stack.lab.configPath])).code).toBe(2);
  });
});
