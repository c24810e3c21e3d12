import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { poolReadiness, type WorkerView } from '../../src/domain/iks-pool.js';

const pool = (size: number, zones: string[]) => ({ id: 'p', sizePerZone: size, zones: zones.map((id) => ({ id })) });
const w = (zone: string, state: string, status = state === 'normal' ? 'Ready' : '', extra: Partial<WorkerView> = {}): WorkerView => ({ id: `${zone}-${state}-${Math.random()}`, poolid: 'p', location: zone, state, status, ...extra });

describe('poolReadiness', () => {
  it('is ready only with exactly the size in every zone, every worker normal and Ready', () => {
    expect(poolReadiness(pool(2, ['a', 'b']), [w('a', 'normal'), w('a', 'normal'), w('b', 'normal'), w('b', 'normal')]).ready).toBe(true);
    expect(poolReadiness(pool(2, ['a', 'b']), [w('a', 'normal'), w('a', 'normal'), w('b', 'normal')]).waiting).toEqual(['b: 1/2 ready']);
    expect(poolReadiness(pool(1, ['a']), [w('a', 'normal', 'NotReady')]).ready, 'normal but not Ready').toBe(false);
    expect(poolReadiness(pool(1, ['a']), [w('a', 'normal'), w('a', 'deleting')]).waiting).toEqual(['a: 1/1 ready, 1 leaving']);
    expect(poolReadiness(pool(1, ['a']), [w('a', 'normal'), w('gone', 'normal')]).waiting).toEqual(['1 worker(s) leaving zones removed from the pool']);
    expect(poolReadiness(pool(1, ['a']), [w('a', 'normal'), { ...w('a', 'normal'), poolid: 'other' }]).ready, 'other pools do not count').toBe(true);
  });

  it('a failed worker fails the change (no wait fixes it); VPC lifecycle and health are read too', () => {
    const f = poolReadiness(pool(1, ['a']), [w('a', 'provision_failed', 'Infrastructure exception')]);
    expect(f).toMatchObject({ ready: false, failed: [{ zone: 'a', why: 'Infrastructure exception' }] });
    const vpc = (actualState: string, health: string) => w('a', '', '', { lifecycle: { actualState }, health: { state: health, message: `health ${health}` } });
    expect(poolReadiness(pool(1, ['a']), [vpc('deployed', 'normal')]).ready).toBe(true);
    expect(poolReadiness(pool(1, ['a']), [vpc('provisioning', 'pending')]).ready).toBe(false);
    expect(poolReadiness(pool(1, ['a']), [vpc('deployed', 'critical')]).failed).toEqual([expect.objectContaining({ why: 'health critical' })]);
  });

  it('ready implies: each zone holds exactly sizePerZone ready workers and nothing else of the pool (property)', () => {
    const states = fc.constantFrom('normal', 'provisioning', 'deleting', 'provision_failed');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), states), { maxLength: 10 }), (size, ws) => {
        const workers = ws.map(([z, s]) => w(z, s));
        const r = poolReadiness(pool(size, ['a', 'b']), workers);
        if (r.ready) {
          for (const z of ['a', 'b']) expect(workers.filter((x) => x.location === z).every((x) => x.state === 'normal') && workers.filter((x) => x.location === z).length === size).toBe(true);
          expect(workers.some((x) => x.location === 'c' && x.state !== 'provision_failed')).toBe(false);
        }
      }),
    );
  });
});
