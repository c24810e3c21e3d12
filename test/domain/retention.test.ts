import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decideRetention, type RetentionPolicy, type SetSummary } from '../../src/domain/retention.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-25T12:00:00Z');

const setArb = fc.record({
  status: fc.constantFrom<SetSummary['status']>('complete', 'complete', 'complete', 'damaged', 'failed', 'cancelled', 'abandoned', 'running', 'deleting'),
  ageMs: fc.integer({ min: 0, max: 400 * DAY }),
});
const historyArb = fc.uniqueArray(setArb, { maxLength: 60, selector: (s) => s.ageMs }).map((list) =>
  list.map((s, i): SetSummary => ({ setId: `site-${i}`, status: s.status, startedAtMs: NOW - s.ageMs })),
);
const policyArb: fc.Arbitrary<RetentionPolicy> = fc.record(
  {
    keepLast: fc.integer({ min: 1, max: 10 }),
    daily: fc.integer({ min: 1, max: 14 }),
    weekly: fc.integer({ min: 1, max: 8 }),
    monthly: fc.integer({ min: 1, max: 12 }),
    maxAgeMs: fc.integer({ min: 1, max: 365 }).map((d) => d * DAY),
  },
  { requiredKeys: [] },
);

describe('retention rules, on randomly generated histories', () => {
  it('never expires the newest verified set nor a running one, always finishes a deleting one; keep and expire partition the sets', () => {
    fc.assert(
      fc.property(historyArb, policyArb, (sets, policy) => {
        const d = decideRetention(sets, policy, NOW);
        const expired = new Set(d.expire.map((e) => e.setId));
        const kept = new Set(d.keep.map((k) => k.setId));
        const newest = sets.filter((s) => s.status === 'complete').sort((a, b) => b.startedAtMs - a.startedAtMs)[0];
        if (newest) expect(expired.has(newest.setId)).toBe(false);
        for (const s of sets) if (s.status === 'running') expect(expired.has(s.setId)).toBe(false);
        for (const s of sets) if (s.status === 'deleting') expect(expired.has(s.setId)).toBe(true);
        for (const s of sets) expect(kept.has(s.setId) !== expired.has(s.setId)).toBe(true);
        expect(kept.size + expired.size).toBe(sets.length);
      }),
      { numRuns: 500 },
    );
  });

  it('a set that is not verified-good never counts for a rule nor protects anything: dropping it changes no other decision', () => {
    const notGood = ['damaged', 'failed', 'cancelled', 'abandoned'] as const;
    fc.assert(
      fc.property(historyArb, policyArb, fc.constantFrom(...notGood), (sets, policy, status) => {
        const onlyGood = sets.filter((s) => s.status === 'complete' || s.status === 'running');
        const extra: SetSummary = { setId: 'extra', status, startedAtMs: NOW - 1 };
        const expiredWith = new Set(decideRetention([...onlyGood, extra], policy, NOW).expire.map((e) => e.setId));
        const expiredWithout = new Set(decideRetention(onlyGood, policy, NOW).expire.map((e) => e.setId));
        expiredWith.delete('extra');
        expect([...expiredWith].sort()).toEqual([...expiredWithout].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('a damaged newest set does not push out the older verified one', () => {
    const sets: SetSummary[] = [
      { setId: 'old-good', status: 'complete', startedAtMs: NOW - 2 * DAY },
      { setId: 'new-damaged', status: 'damaged', startedAtMs: NOW - DAY },
    ];
    const d = decideRetention(sets, { keepLast: 1 }, NOW);
    expect(d.expire).toEqual([]);
    expect(d.keep.find((k) => k.setId === 'old-good')!.reasons).toContain('newest complete set');
    const later = decideRetention([...sets, { setId: 'newer-good', status: 'complete', startedAtMs: NOW }], { keepLast: 1 }, NOW);
    expect(later.expire.map((e) => e.setId).sort()).toEqual(['new-damaged', 'old-good']);
  });

  it('keepLast alone keeps exactly the newest N complete sets', () => {
    fc.assert(
      fc.property(historyArb, fc.integer({ min: 1, max: 10 }), (sets, n) => {
        const d = decideRetention(sets, { keepLast: n }, NOW);
        const expired = new Set(d.expire.map((e) => e.setId));
        const complete = sets.filter((s) => s.status === 'complete').sort((a, b) => b.startedAtMs - a.startedAtMs);
        complete.forEach((s, i) => expect(expired.has(s.setId)).toBe(i >= n));
      }),
      { numRuns: 300 },
    );
  });

  it('maxAge expires every complete set older than it except the newest complete one', () => {
    fc.assert(
      fc.property(historyArb, policyArb, (sets, policy) => {
        fc.pre(policy.maxAgeMs !== undefined);
        const d = decideRetention(sets, policy, NOW);
        const expired = new Set(d.expire.map((e) => e.setId));
        const newest = sets.filter((s) => s.status === 'complete').sort((a, b) => b.startedAtMs - a.startedAtMs)[0];
        for (const s of sets) {
          if (s.status === 'complete' && s !== newest && NOW - s.startedAtMs > policy.maxAgeMs!) expect(expired.has(s.setId)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('with no rules nothing is expired but the sets an interrupted prune left deleting', () => {
    fc.assert(
      fc.property(historyArb, (sets) => {
        expect(decideRetention(sets, {}, NOW).expire.map((e) => e.setId).sort()).toEqual(sets.filter((s) => s.status === 'deleting').map((s) => s.setId).sort());
      }),
    );
  });

  it('GFS keeps one set per most recent day', () => {
    const sets: SetSummary[] = [0, 1, 2, 3].flatMap((day) =>
      [0, 6].map((h) => ({ setId: `d${day}h${h}`, status: 'complete' as const, startedAtMs: NOW - day * DAY - h * 3_600_000 })),
    );
    const d = decideRetention(sets, { daily: 2 }, NOW);
    expect(d.keep.map((k) => k.setId).sort()).toEqual(['d0h0', 'd1h0']);
  });

  it('keeps the newest restore-tested set (a drill proved it restores) unless it is past maxAge', () => {
    const tested = historyArb.chain((sets) => fc.array(fc.boolean(), { minLength: sets.length, maxLength: sets.length }).map((flags) => sets.map((s, i) => ({ ...s, restoreTested: flags[i] && s.status === 'complete' }))));
    fc.assert(
      fc.property(tested, policyArb, (sets, policy) => {
        const newestTested = sets.filter((s) => s.status === 'complete' && s.restoreTested).sort((a, b) => b.startedAtMs - a.startedAtMs)[0];
        fc.pre(!!newestTested);
        const d = decideRetention(sets, policy, NOW);
        const tooOld = policy.maxAgeMs !== undefined && NOW - newestTested!.startedAtMs > policy.maxAgeMs;
        const newestComplete = sets.filter((s) => s.status === 'complete').sort((a, b) => b.startedAtMs - a.startedAtMs)[0];
        if (!tooOld || newestComplete === newestTested) expect(d.expire.map((e) => e.setId)).not.toContain(newestTested!.setId);
        else expect(d.keep.find((k) => k.setId === newestTested!.setId)?.reasons ?? []).not.toContain('newest restore-tested set');
      }),
      { numRuns: 300 },
    );
    const three: SetSummary[] = [0, 1, 2].map((n) => ({ setId: `s${n}`, status: 'complete', startedAtMs: NOW - n * DAY, restoreTested: n === 1 }));
    const d = decideRetention(three, { keepLast: 1 }, NOW);
    expect(d.expire.map((e) => e.setId)).toEqual(['s2']);
    expect(d.keep.find((k) => k.setId === 's1')?.reasons).toEqual(['newest restore-tested set']);
  });
});
