import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { workflowBundle } from '../fixtures/temporal.js';
import { testDataConverter } from '../fixtures/codec.js';

const DIR = fileURLToPath(new URL('../histories/', import.meta.url));
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

  it('every history replays without nondeterminism', async () => {
    const all = [...recorded(), ...recorded(join(DIR, 'pre-patch'))];
    const results = Worker.runReplayHistories(
      { workflowBundle: await workflowBundle(), dataConverter: await testDataConverter(), replayName: 'recorded' },
      // Their own workflow ids: some workflows derive their children's ids from them.
      all.map((h) => ({ workflowId: h.workflowId, history: proto.temporal.api.history.v1.History.fromObject(h.history as object) })),
    );
    const failures: string[] = [];
    let n = 0;
    for await (const r of results) {
      n++;
      if (r.error) failures.push(`${all.filter((h) => h.workflowId === r.workflowId).map((h) => h.file).join(' or ')}: ${r.error.message.split('\n')[0]}`);
    }
    expect(n).toBe(all.length);
    expect(failures).toEqual([]);
  }, 300_000);
});
