import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { SFTPWrapper } from 'ssh2';
import { readPipelined } from '../../src/providers/sftp/pipelined-read.js';
import { GzipCheck } from '../../src/providers/sftp/gzip-check.js';

/**
 * An SFTP peer that answers READs out of order, after random delays, and short (as servers may):
 * what the pipeline must put back in order. It records how many reads were in flight at most.
 */
function unrulyServer(file: Buffer, o: { seed: number; failAt?: number; neverShort?: boolean }) {
  let rnd = o.seed;
  const next = () => ((rnd = (rnd * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let inFlight = 0;
  const stats = { maxInFlight: 0, reads: 0, closed: false };
  const sftp = {
    _maxReadLen: 4096,
    open: (_p: string, _f: string, cb: (err: Error | undefined, h: Buffer) => void) => setImmediate(() => cb(undefined, Buffer.from('h'))),
    close: (_h: Buffer, cb: () => void) => {
      stats.closed = true;
      setImmediate(cb);
    },
    read: (_h: Buffer, buf: Buffer, off: number, len: number, pos: number, cb: (err: Error | undefined, n: number) => void) => {
      stats.reads++;
      stats.maxInFlight = Math.max(stats.maxInFlight, ++inFlight);
      setTimeout(() => {
        inFlight--;
        if (o.failAt !== undefined && pos >= o.failAt) return cb(Object.assign(new Error('connection lost'), { code: 'ECONNRESET' }), 0);
        const short = !o.neverShort && next() < 0.3 ? Math.max(1, Math.floor(len * next())) : len;
        const n = Math.max(0, Math.min(short, file.length - pos));
        if (n > 0) file.copy(buf, off, pos, pos + n);
        cb(undefined, n);
      }, Math.floor(next() * 3));
    },
  };
  return { sftp: sftp as unknown as SFTPWrapper, stats };
}

describe('pipelined SFTP reads', () => {
  it('hand over every byte in file order, whatever the sizes, short answers and reply order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 1e6 }), async (size, inFlight, seed) => {
        const file = randomBytes(size);
        const { sftp, stats } = unrulyServer(file, { seed });
        const got: Buffer[] = [];
        const n = await readPipelined(sftp, '/f', (c) => void got.push(Buffer.from(c)), { chunkSize: 4096, inFlight });
        expect(n).toBe(size);
        expect(Buffer.concat(got).equals(file)).toBe(true);
        expect(stats.maxInFlight).toBeLessThanOrEqual(inFlight);
        expect(stats.closed).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('keep several reads in flight, and issue none beyond the window while the consumer is full', async () => {
    const file = randomBytes(200 * 4096);
    const { sftp, stats } = unrulyServer(file, { seed: 7 });
    let readsWhenBlocked = -1;
    let chunks = 0;
    await readPipelined(
      sftp,
      '/f',
      async () => {
        if (++chunks !== 10) return;
        // The consumer is full for a while: only the window's reads may be outstanding meanwhile.
        const before = stats.reads;
        await new Promise((r) => setTimeout(r, 50));
        readsWhenBlocked = stats.reads - before;
      },
      { chunkSize: 4096, inFlight: 8 },
    );
    expect(stats.maxInFlight).toBeGreaterThan(1);
    expect(readsWhenBlocked).toBeGreaterThanOrEqual(0);
    expect(readsWhenBlocked).toBeLessThanOrEqual(8 * 2); // short answers may add a follow-up read per slot
  });

  it('reuse a buffer only once its consumer released it: kept chunks stay intact, released ones carry later chunks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 120_000 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 1e6 }), fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }), async (size, inFlight, seed, keepPattern) => {
        const file = randomBytes(size);
        const { sftp } = unrulyServer(file, { seed });
        const kept: { chunk: Buffer; at: number }[] = [];
        const buffers = new Set<ArrayBufferLike>();
        let at = 0;
        let i = 0;
        await readPipelined(
          sftp,
          '/f',
          async (chunk, release) => {
            buffers.add(chunk.buffer);
            if (keepPattern[i++ % keepPattern.length]) kept.push({ chunk, at }); // held: never released
            else if (i % 2) release();
            else setTimeout(release, 1); // released later, as the inflater does
            at += chunk.length;
            if (i % 3 === 0) await new Promise((r) => setTimeout(r, 2));
          },
          { chunkSize: 4096, inFlight },
        );
        for (const k of kept) expect(k.chunk.equals(file.subarray(k.at, k.at + k.chunk.length))).toBe(true);
        if (kept.length === 0 && size > 4096 * inFlight * 3) expect(buffers.size).toBeLessThan(Math.ceil(size / 4096));
      }),
      { numRuns: 60 },
    );
  });

  it('read a small file with two or three READs, not a window of them answered EOF, and open the window fully for a large one', async () => {
    const small = unrulyServer(randomBytes(1000), { seed: 5, neverShort: true });
    expect(await readPipelined(small.sftp, '/f', (_c, release) => release(), { chunkSize: 4096, inFlight: 16 })).toBe(1000);
    expect(small.stats.reads).toBeLessThanOrEqual(3);
    const large = unrulyServer(randomBytes(100 * 4096), { seed: 6, neverShort: true });
    expect(await readPipelined(large.sftp, '/f', (_c, release) => release(), { chunkSize: 4096, inFlight: 16 })).toBe(100 * 4096);
    expect(large.stats.maxInFlight).toBe(16);
    expect(large.stats.reads).toBeLessThanOrEqual(100 + 16);
  });

  it('fail with the read error, after the handle is closed', async () => {
    const { sftp, stats } = unrulyServer(randomBytes(100_000), { seed: 3, failAt: 50_000 });
    await expect(readPipelined(sftp, '/f', () => undefined, { chunkSize: 4096, inFlight: 4 })).rejects.toThrow(/connection lost/);
    expect(stats.closed).toBe(true);
  });
});

describe('gzip integrity check', () => {
  it('passes an intact archive fed in pieces and names the damage in a broken one', async () => {
    const good = gzipSync(randomBytes(3 * 1024 * 1024), { level: 1 });
    const bad = Buffer.from(good);
    for (let i = 0; i < 32; i++) bad[Math.floor(bad.length / 2) + i]! ^= 0xa5;
    const feed = async (data: Buffer) => {
      const check = new GzipCheck();
      for (let at = 0; at < data.length; at += 65_536) await check.write(data.subarray(at, at + 65_536));
      return check.end();
    };
    expect(await feed(good)).toBeUndefined();
    expect(await feed(bad)).toMatch(/invalid|incorrect|check/i);
    expect(await feed(good.subarray(0, good.length - 100))).toMatch(/unexpected end/i);
  });
});

describe('gzip integrity check, aborted', () => {
  it('frees the inflater and settles at once when the read fails half-way', async () => {
    const check = new GzipCheck();
    await check.write(gzipSync(randomBytes(1024 * 1024), { level: 1 }).subarray(0, 200_000));
    check.abort();
    expect(await check.end()).toBe('aborted');
  });
});
