import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import type { SFTPWrapper } from 'ssh2';
import { readPipelined } from '../../src/providers/sftp/pipelined-read.js';

/**
 * ssh2 never calls back an SFTP request that is pending when the session closes, or sent after:
 * a read must fail when its session goes, not wait forever (a verify that hangs sends no
 * heartbeat, and its connection and buffers are never freed).
 */
function dyingSession(o: { answerReads: number; closeOnOpen?: boolean }) {
  const sftp = new EventEmitter() as EventEmitter & Record<string, unknown>;
  let answered = 0;
  const stats = { closeCalls: 0 };
  sftp._maxReadLen = 1024;
  sftp.open = (_p: string, _f: string, cb: (err: Error | undefined, h: Buffer) => void) => {
    if (o.closeOnOpen) return void setImmediate(() => sftp.emit('close'));
    setImmediate(() => cb(undefined, Buffer.from('h')));
  };
  sftp.close = () => void stats.closeCalls++; // a closed session: no answer, ever
  sftp.read = (_h: Buffer, _buf: Buffer, _off: number, len: number, _pos: number, cb: (err: Error | undefined, n: number) => void) => {
    if (answered++ < o.answerReads) return void setImmediate(() => cb(undefined, len));
    if (answered === o.answerReads + 2) setImmediate(() => sftp.emit('close'));
    // no answer: the session is going
  };
  return { sftp: sftp as unknown as SFTPWrapper, stats };
}

describe('a pipelined read whose SFTP session closes under it', () => {
  it('fails with the session gone, at once, without waiting for the close of its handle', async () => {
    const { sftp, stats } = dyingSession({ answerReads: 3 });
    const got: number[] = [];
    const err = await readPipelined(sftp, '/backups/x.tar.gz', (c) => void got.push(c.length), { chunkSize: 1024, inFlight: 4 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('the SFTP session closed while reading /backups/x.tar.gz');
    expect(got.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(3 * 1024);
    expect(stats.closeCalls, 'no close is sent on a session that is gone').toBe(0);
    expect((sftp as unknown as EventEmitter).listenerCount('close'), 'it leaves no listener behind').toBe(0);
  });

  it('many reads at once on one session share one close listener, and every one of them fails when it closes', async () => {
    const { sftp } = dyingSession({ answerReads: 1000 });
    const emitter = sftp as unknown as EventEmitter;
    const reads = Array.from({ length: 20 }, (_, i) => readPipelined(sftp, `/m/${i}.json`, () => undefined, { chunkSize: 1024, inFlight: 2 }).then(() => 'read', (e: Error) => e.message));
    await new Promise((r) => setImmediate(r));
    expect(emitter.listenerCount('close')).toBe(1);
    emitter.emit('close');
    const outcomes = await Promise.all(reads);
    expect(outcomes).toEqual(Array.from({ length: 20 }, (_, i) => `the SFTP session closed while reading /m/${i}.json`));
    await expect(readPipelined(sftp, '/after', () => undefined)).rejects.toThrow('the SFTP session closed while reading /after');
  });

  it('fails when the session closes before the file is even open', async () => {
    const { sftp } = dyingSession({ answerReads: 0, closeOnOpen: true });
    await expect(readPipelined(sftp, '/f', () => undefined)).rejects.toThrow(/session closed while reading \/f/);
    expect((sftp as unknown as EventEmitter).listenerCount('close')).toBe(0);
  });
});
