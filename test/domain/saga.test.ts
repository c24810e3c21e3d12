import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Saga } from '../../src/domain/saga.js';

describe('saga', () => {
  it('unwinds every registered compensation once, newest first, and reports the ones that failed without stopping', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { maxLength: 12 }), async (fails) => {
        const saga = new Saga();
        const ran: number[] = [];
        fails.forEach((fail, i) =>
          saga.push({
            step: `step ${i}`,
            undo: `undo ${i}`,
            run: async () => {
              ran.push(i);
              if (fail) throw new Error(`undo ${i} failed`);
            },
          }),
        );
        expect(saga.registered.map((r) => r.step)).toEqual(fails.map((_, i) => `step ${i}`));
        const report = await saga.unwind();
        const reversed = fails.map((_, i) => i).reverse();
        expect(ran).toEqual(reversed);
        expect(report.undone.map((u) => u.step)).toEqual(reversed.filter((i) => !fails[i]).map((i) => `step ${i}`));
        expect(report.failed.map((f) => f.error)).toEqual(reversed.filter((i) => fails[i]).map((i) => `undo ${i} failed`));
        expect(await saga.unwind()).toEqual({ undone: [], failed: [] }); // nothing runs twice
      }),
    );
  });
});
