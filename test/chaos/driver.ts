import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { CLI } from '../fixtures/stack.js';

/** mulberry32: a small seeded PRNG, so that a seed replays the same schedule of kills. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ChaosEvent {
  /** Ms after the schedule started. */
  at: number;
  kind: 'kill-worker' | 'restart-server';
  /** Which worker (kill-worker). */
  worker?: number;
  /** How long it stays down before it is started again. */
  downMs: number;
}

/**
 * The whole schedule, drawn from the seed before anything runs: `kills` SIGKILLs of a random one
 * of the workers at random gaps, and one restart of the Temporal server at a random time within
 * `restartWithinMs` (early enough that the batch is still running).
 */
export function chaosSchedule(seed: number, o: { kills: number; workers: number; gapMs: [number, number]; restartWithinMs: [number, number] }): ChaosEvent[] {
  const r = prng(seed);
  const between = ([lo, hi]: [number, number]) => Math.round(lo + r() * (hi - lo));
  const events: ChaosEvent[] = [{ at: between(o.restartWithinMs), kind: 'restart-server', downMs: between([1000, 5000]) }];
  let at = 0;
  for (let k = 0; k < o.kills; k++) {
    at += between(o.gapMs);
    events.push({ at, kind: 'kill-worker', worker: Math.floor(r() * o.workers), downMs: between([200, 3000]) });
  }
  return events.sort((a, b) => a.at - b.at);
}

/**
 * Worker processes as an operator runs them (`sddc-ops worker`), each kept running: one that
 * exits on its own (it lost the server for too long) is started again and counted.
 */
export class WorkerProcesses {
  private procs: (ChildProcess | undefined)[] = [];
  private generation = 0;
  private stopping = false;
  private held = new Set<number>();
  unexpectedExits = 0;
  started = 0;

  constructor(private readonly o: { count: number; configPath: string; address: string; logDir: string; env?: NodeJS.ProcessEnv }) {}

  async startAll(): Promise<void> {
    await Promise.all(Array.from({ length: this.o.count }, (_, i) => this.start(i)));
  }

  /** Starts worker i and resolves once it polls. */
  async start(i: number): Promise<void> {
    const gen = ++this.generation;
    this.started++;
    const log = createWriteStream(join(this.o.logDir, `worker-${i}-${gen}.log`));
    const child = spawn(process.execPath, [CLI, 'worker', '--config', this.o.configPath, '--address', this.o.address], { env: { ...process.env, ...this.o.env, TEMPORAL_ADDRESS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.procs[i] = child;
    let stderr = '';
    child.stdout!.pipe(log);
    child.stderr!.on('data', (d: Buffer) => {
      log.write(d);
      if (stderr.length < 20_000) stderr += d;
    });
    child.on('exit', () => {
      if (this.procs[i] !== child || this.stopping || this.held.has(i)) return;
      this.unexpectedExits++;
      this.procs[i] = undefined;
      setTimeout(() => void (!this.stopping && !this.procs[i] && this.start(i).catch(() => undefined)), 1000);
    });
    const until = Date.now() + 120_000;
    while (!/polling task queue/.test(stderr)) {
      if (child.exitCode !== null || child.signalCode !== null) return; // the exit handler starts it again
      if (Date.now() > until) throw new Error(`worker ${i} did not start polling in 120 s:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL worker i, keep it down for downMs, start it again. */
  async kill(i: number, downMs: number): Promise<void> {
    const child = this.procs[i];
    this.held.add(i);
    try {
      if (child && child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      this.procs[i] = undefined;
      await new Promise((r) => setTimeout(r, downMs));
    } finally {
      this.held.delete(i);
    }
    if (!this.stopping) await this.start(i);
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.procs.map(async (p) => {
        if (!p || p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(t);
      }),
    );
  }
}
