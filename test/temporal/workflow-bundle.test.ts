import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { prebuiltBundle, PREBUILT_BUNDLE } from '../../src/temporal/workflow-bundle.js';

// `npm run build` (run by pretest) writes dist/workflow-bundle.js after compiling the workflows.
describe('the prebuilt workflow bundle', () => {
  it('is written by the build, holds every workflow and the failure converter, and is used while fresh', () => {
    expect(existsSync(PREBUILT_BUNDLE)).toBe(true);
    const code = readFileSync(PREBUILT_BUNDLE, 'utf8');
    for (const name of ['coordinatedBackup', 'endpointLock', 'addHosts', 'expandIks', 'restoreDrill']) expect(code).toContain(name);
    expect(code).toContain('dist/src/temporal/failure-converter.js');
    expect(prebuiltBundle()).toBe(PREBUILT_BUNDLE);
  });

  it('is not used once a compiled workflow file is newer (tsc run without the bundling step): the worker bundles at start', () => {
    const { atime, mtime } = statSync(PREBUILT_BUNDLE);
    try {
      utimesSync(PREBUILT_BUNDLE, atime, new Date(Date.UTC(2000, 0, 1)));
      expect(prebuiltBundle()).toBeUndefined();
    } finally {
      utimesSync(PREBUILT_BUNDLE, atime, mtime);
    }
    expect(prebuiltBundle()).toBe(PREBUILT_BUNDLE);
  });
});
