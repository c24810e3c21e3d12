import type { SFTPWrapper } from 'ssh2';

export interface PipelineOptions {
  /** Bytes per read request; clamped to what the server accepts in one reply. */
  chunkSize?: number;
  /** Read requests in flight at once: together they cover the round trip, and bound the memory. */
  inFlight?: number;
}

/** What OpenSSH's sftp-server answers in one READ (its limits@openssh.com says 261,120 bytes). */
const DEFAULT_CHUNK = 255 * 1024;
const DEFAULT_IN_FLIGHT = 16;
/** Reads in flight at the start of a file; each full chunk doubles it, up to `inFlight`. */
const FIRST_WINDOW = 2;

/**
 * Chunk buffers released by earlier reads, by size, shared by every read in the process: a fresh
 * 255 KiB buffer per read request meant an mmap and munmap per chunk and megabytes of garbage per
 * small file. Bounded, so an idle worker holds at most a few MiB.
 */
const spare = new Map<number, Buffer[]>();
const SPARE_BYTES = 16 * 1024 * 1024;
function takeBuffer(size: number): Buffer {
  return spare.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size);
}
function giveBack(buf: Buffer): void {
  let list = spare.get(buf.length);
  if (!list) spare.set(buf.length, (list = []));
  if ((list.length + 1) * buf.length <= SPARE_BYTES) list.push(buf);
}

/**
 * One 'close' listener per session, however many reads run on it at once (a catalog reads 32
 * manifests at a time over one session, and a kept session serves one activity after another).
 */
const closeSignals = new WeakMap<object, { closed: boolean; waiters: Set<() => void> }>();
function closeSignalOf(sftp: SFTPWrapper): { closed: boolean; waiters: Set<() => void> } {
  let signal = closeSignals.get(sftp);
  if (!signal) {
    const s = { closed: false, waiters: new Set<() => void>() };
    (sftp as unknown as { once?: (e: string, f: () => void) => void }).once?.('close', () => {
      s.closed = true;
      for (const w of s.waiters) w();
      s.waiters.clear();
    });
    closeSignals.set(sftp, (signal = s));
  }
  return signal;
}

interface Slot {
  offset: number;
  /** The bytes this slot covers, filled by one or more reads (a server may answer short). */
  buf: Buffer;
  filled: number;
  /** The file ended inside this slot: `filled` bytes are all there is. */
  eof: boolean;
  done: Promise<void>;
}

/**
 * Reads a remote file front to back with up to `inFlight` READ requests outstanding, and hands
 * the chunks to `consume` in file order. `consume` may return a promise (a consumer that is full):
 * no further chunk is handed over until it settles, and no read beyond the window is issued, so
 * memory stays at about `inFlight × chunkSize` whatever the file's size. Returns the bytes read.
 *
 * A consumer that is done with a chunk calls `release()`: its buffer then carries a later chunk.
 * Reading gigabytes into fresh buffers makes V8 run a full collection every few megabytes once
 * they outlive the young generation (measured: twice the CPU per byte); reused buffers do not.
 * A consumer that never calls it only costs that.
 *
 * One READ at a time, as ssh2's own read stream does, waits a round trip per chunk; a pipeline
 * keeps the connection busy, as OpenSSH's `sftp` client does.
 */
export async function readPipelined(
  sftp: SFTPWrapper,
  path: string,
  consume: (chunk: Buffer, release: () => void) => void | Promise<void>,
  o: PipelineOptions = {},
): Promise<number> {
  const serverMax = (sftp as unknown as { _maxReadLen?: number })._maxReadLen;
  const chunkSize = Math.max(1024, Math.min(o.chunkSize ?? DEFAULT_CHUNK, serverMax && serverMax > 0 ? serverMax : DEFAULT_CHUNK));
  const inFlight = Math.max(1, o.inFlight ?? DEFAULT_IN_FLIGHT);
  // A session that closes under us (the connection dropped, the server's SFTP process died) answers
  // nothing more: ssh2 never calls back a request left pending or sent after that. Every wait
  // below also ends when the session goes, so a drop fails the read instead of hanging it.
  let gone: Error | undefined;
  let signalGone: (err: Error) => void = () => undefined;
  const whenGone = new Promise<never>((_, reject) => (signalGone = reject));
  whenGone.catch(() => undefined);
  const onClose = () => {
    gone ??= new Error(`the SFTP session closed while reading ${path}`);
    signalGone(gone);
  };
  const closing = closeSignalOf(sftp);
  if (closing.closed) onClose();
  closing.waiters.add(onClose);
  const forget = () => closing.waiters.delete(onClose);
  let handle: Buffer;
  try {
    handle = await Promise.race([new Promise<Buffer>((resolve, reject) => sftp.open(path, 'r', (err, h) => (err ? reject(err) : resolve(h)))), whenGone]);
  } catch (err) {
    forget();
    throw err;
  }
  let failed: Error | undefined;

  /** Reads into the slot until it is full or the file ends; a short answer is followed by a read for the rest. */
  const fill = (slot: Slot): Promise<void> => Promise.race([fillSlot(slot), whenGone]);
  const fillSlot = (slot: Slot): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const step = () => {
        if (failed) return reject(failed);
        const want = slot.buf.length - slot.filled;
        sftp.read(handle, slot.buf, slot.filled, want, slot.offset + slot.filled, (err, n) => {
          if (err) return reject(err);
          if (!n) {
            slot.eof = true;
            return resolve();
          }
          slot.filled += n;
          if (slot.filled < slot.buf.length) step();
          else resolve();
        });
      };
      step();
    });

  const window: Slot[] = [];
  let nextOffset = 0;
  let ended = false;
  // Starts small and doubles with each full chunk: a file of a few KiB costs two or three READs,
  // not a whole window of them answered EOF, and a large one reaches `inFlight` within a few chunks.
  let limit = Math.min(FIRST_WINDOW, inFlight);
  const issue = () => {
    while (!ended && window.length < limit) {
      const slot: Slot = { offset: nextOffset, buf: takeBuffer(chunkSize), filled: 0, eof: false, done: Promise.resolve() };
      slot.done = fill(slot);
      // A rejection is taken when the slot reaches the front; until then keep Node from calling it unhandled.
      slot.done.catch((err: Error) => {
        failed ??= err;
      });
      nextOffset += chunkSize;
      window.push(slot);
    }
  };

  let total = 0;
  try {
    issue();
    while (window.length) {
      const slot = window.shift()!;
      await slot.done;
      if (slot.eof) ended = true; // reads past the end answer EOF too: let them drain, issue no more
      else {
        limit = Math.min(inFlight, limit * 2);
        issue();
      }
      if (slot.filled) {
        total += slot.filled;
        const buf = slot.buf;
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          giveBack(buf);
        };
        await consume(slot.filled === buf.length ? buf : buf.subarray(0, slot.filled), release);
      }
      if (slot.eof) {
        await Promise.allSettled(window.map((s) => s.done));
        break;
      }
    }
    return total;
  } catch (err) {
    failed ??= err as Error;
    await Promise.allSettled(window.map((s) => s.done));
    throw err;
  } finally {
    if (!gone) await Promise.race([new Promise<void>((resolve) => sftp.close(handle, () => resolve())), whenGone]).catch(() => undefined);
    forget();
  }
}
