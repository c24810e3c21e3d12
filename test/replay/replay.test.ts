import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import webpack from 'webpack';
import proto from '@temporalio/proto';
import { workflowBundle } from '../fixtures/temporal.js';
import { failureConverterPath } from '../../src/temporal/data-converter.js';
import { testDataConverter } from '../fixtures/codec.js';

const DIR = fileURLToPath(new URL('../histories/', import.meta.url));
const PRE_PATCH = join(DIR, 'pre-patch');
const WORKFLOWS = fileURLToPath(new URL('../../workflows/', import.meta.url));
const UNGUARDED = fileURLToPath(new URL('./patches-unguarded.ts', import.meta.url));
const noop = () => undefined;
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
interface Recorded {
  workflowId: string;
  workflowType: string;
  status: string;
  history: unknown;
}
const recorded = (dir = DIR): (Recorded & { file: string })[] =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, ...(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Recorded) }));

/** Replays each history with its own workflow id (some workflows derive their children's ids from it); one line per failure. */
async function replayFailures(workflowBundle: Awaited<ReturnType<typeof bundleWorkflowCode>>, histories: (Recorded & { file: string })[]): Promise<string[]> {
  const results = Worker.runReplayHistories(
    { workflowBundle, dataConverter: await testDataConverter(), replayName: 'recorded' },
    histories.map((h) => ({ workflowId: h.workflowId, history: proto.temporal.api.history.v1.History.fromObject(h.history as object) })),
  );
  const failures: string[] = [];
  let n = 0;
  for await (const r of results) {
    n++;
    if (r.error) failures.push(`${histories.filter((h) => h.workflowId === r.workflowId).map((h) => h.file).join(' or ')}: ${r.error.message.split('\n')[0]}`);
  }
  expect(n).toBe(histories.length);
  return failures;
}

/**
 * Every recorded history (npm run histories:record) replays against today's workflow code: a change
 * that would break a run in flight fails here, and must go behind patched().
 */
describe('replay of recorded histories', () => {
  it('covers every workflow, and success, failure, cancellation and continue-as-new', () => {
    const all = recorded();
    const types = new Set(all.map((h) => h.workflowType));
    // The workflow functions workflows/index.ts exports (read, not imported: workflow code runs only in the sandbox).
    const index = readFileSync(fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)), 'utf8');
    const names = [...index.matchAll(/export \{([^}]+)\}/g)].flatMap((m) => m[1]!.split(',').map((n) => n.trim())).filter((n) => n && !/Query$|Signal$|Update$/.test(n));
    expect(names.length).toBeGreaterThan(10);
    const missing = names.filter((name) => !types.has(name));
    expect(missing, 'workflows without a recorded history').toEqual([]);
    const statuses = new Set(all.map((h) => h.status));
    for (const s of ['COMPLETED', 'FAILED', 'CANCELLED', 'CONTINUED_AS_NEW']) expect(statuses, s).toContain(s);
  });

  it('every history replays without nondeterminism, those recorded before a patch included', async () => {
    const all = [...recorded(), ...recorded(PRE_PATCH)];
    expect(recorded(PRE_PATCH).length).toBeGreaterThanOrEqual(3);
    expect(await replayFailures(await workflowBundle(), all)).toEqual([]);
  }, 300_000);

  it('the patches are what keeps them replaying: taken unconditionally, the pre-patch histories break', async () => {
    const prePatch = recorded(PRE_PATCH).filter((h) => /before-release-locks-by-activity/.test(h.file));
    expect(prePatch.map((h) => h.file.split('-')[1])).toEqual(expect.arrayContaining(['cancelled', 'completed', 'failed']));
    // Each of them released its locks by signals from workflow code; today's code records a marker instead.
    for (const h of prePatch) {
      const types = (h.history as { events: { eventType: string }[] }).events.map((e) => e.eventType);
      expect(types, h.file).toContain('EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED');
      expect(types, h.file).not.toContain('EVENT_TYPE_MARKER_RECORDED');
    }
    const unguarded = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
      failureConverterPath: failureConverterPath(),
      logger: quiet,
      webpackConfigHook: (config) => {
        config.plugins = [
          ...(config.plugins ?? []),
          new webpack.NormalModuleReplacementPlugin(/[/\\]patches\.js$/, (r: { request: string; context: string }) => {
            if (r.context.startsWith(WORKFLOWS)) r.request = UNGUARDED;
          }),
        ];
        return config;
      },
    });
    const failures = await replayFailures(unguarded, prePatch);
    expect(failures).toHaveLength(prePatch.length);
    for (const f of failures) expect(f).toMatch(/[Nn]ondeterminism|DeterminismViolation|does not match/);
  }, 300_000);
});
