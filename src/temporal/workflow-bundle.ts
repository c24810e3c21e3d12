import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from './data-converter.js';

/**
 * The workflow code, bundled once by `npm run build` (dist/workflow-bundle.js) instead of by every
 * worker at start: webpack in the worker costs seconds of CPU and leaves ~100 MiB of its heap behind
 * in the process for good. Built with the failure converter encrypted payloads need, so a worker
 * uses it only with encryption on; one with `encryption: off` bundles at start as before.
 */
const DIST = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../dist/' : '../../', import.meta.url)); // from source (tests): the build's
export const PREBUILT_BUNDLE = join(DIST, 'workflow-bundle.js');
const WORKFLOWS_DIR = join(DIST, 'workflows');

/** The prebuilt bundle's path, when it is there and newer than every compiled workflow file (else undefined: bundle at start). */
export function prebuiltBundle(): string | undefined {
  if (!existsSync(PREBUILT_BUNDLE) || !existsSync(join(WORKFLOWS_DIR, 'index.js'))) return undefined;
  const built = statSync(PREBUILT_BUNDLE).mtimeMs;
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(join(dir, e.name)) : e.name.endsWith('.js') ? statSync(join(dir, e.name)).mtimeMs : 0), 0);
  return newest(WORKFLOWS_DIR) <= built ? PREBUILT_BUNDLE : undefined;
}

/** `npm run build`'s last step. */
export async function writePrebuiltBundle(): Promise<string> {
  const noop = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(WORKFLOWS_DIR, 'index.js'),
    failureConverterPath: failureConverterPath(),
    logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop },
  });
  writeFileSync(PREBUILT_BUNDLE, code);
  return PREBUILT_BUNDLE;
}
