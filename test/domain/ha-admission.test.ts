import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { planHa, reservePercent, type AdmissionPolicy, type HaSettings } from '../../src/domain/ha-admission.js';

const policy: fc.Arbitrary<AdmissionPolicy> = fc.oneof(
  fc.record({ kind: fc.constant('resources' as const), cpuPercent: fc.integer({ min: 0, max: 100 }), memoryPercent: fc.integer({ min: 0, max: 100 }), failoverLevel: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }), autoCompute: fc.boolean() }),
  fc.record({ kind: fc.constant('slots' as const), failoverLevel: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('failover-hosts' as const), failoverHosts: fc.array(fc.constantFrom('esx-1', 'esx-2', 'esx-3'), { maxLength: 2 }) }),
  fc.constant({ kind: 'none' as const }),
);
const settings: fc.Arbitrary<HaSettings> = fc.record({ enabled: fc.boolean(), admissionControlEnabled: fc.boolean(), failoverLevel: fc.integer({ min: 0, max: 4 }), policy });

describe('HA admission control', () => {
  it('reserves the smallest whole percentage that covers the tolerated failures', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 64 }), (f, h) => {
        const p = reservePercent(f, h);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(100);
        if (f <= h) expect((p * h) / 100).toBeGreaterThanOrEqual(f); // f hosts' worth is reserved
        if (p > 0 && f < h) expect(((p - 1) * h) / 100).toBeLessThan(f); // and no more than needed
        expect(reservePercent(f, h + 1)).toBeLessThanOrEqual(p); // more hosts never reserve more
      }),
    );
    expect(reservePercent(1, 3)).toBe(34);
    expect(reservePercent(1, 4)).toBe(25);
    expect(reservePercent(2, 5)).toBe(40);
    expect(() => reservePercent(1, 0)).toThrow(RangeError);
  });

  it('recomputes only a percentage policy vCenter does not compute; keeps every other setting field for field', () => {
    fc.assert(
      fc.property(settings, fc.integer({ min: 1, max: 32 }), (before, hosts) => {
        const snapshot = structuredClone(before);
        const plan = planHa(before, hosts);
        expect(before).toEqual(snapshot); // the old settings are the compensation: never touched
        expect(plan.before).toEqual(snapshot);
        const p = before.policy;
        const applies = before.enabled && before.admissionControlEnabled && p.kind === 'resources' && !p.autoCompute;
        if (!applies) {
          expect(plan.change).toBe('unchanged');
          expect(plan.after).toEqual(before);
          return;
        }
        const want = reservePercent(p.kind === 'resources' ? (p.failoverLevel ?? before.failoverLevel) : 0, hosts);
        expect(plan.after.policy).toEqual({ ...p, cpuPercent: want, memoryPercent: want });
        expect({ ...plan.after, policy: undefined }).toEqual({ ...before, policy: undefined });
        expect(plan.change).toBe(p.kind === 'resources' && p.cpuPercent === want && p.memoryPercent === want ? 'unchanged' : 'recomputed');
      }),
    );
  });

  it('says why, for the plan: 3 → 5 hosts at one failure goes from 34% to 20%', () => {
    const before: HaSettings = { enabled: true, admissionControlEnabled: true, failoverLevel: 1, policy: { kind: 'resources', cpuPercent: 34, memoryPercent: 34, failoverLevel: 1, autoCompute: false } };
    const plan = planHa(before, 5);
    expect(plan.change).toBe('recomputed');
    expect(plan.reason).toBe('CPU 34% → 20%, memory 34% → 20%: 1 host failure(s) of 5 hosts');
  });
});
