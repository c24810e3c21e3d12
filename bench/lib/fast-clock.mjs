// Preload (`node --import ./fast-clock.mjs …`): this process's clock runs BENCH_TIME_SCALE times
// faster than the wall clock — Date, Date.now and the global setTimeout/setInterval — so that a
// backup job of hours, simulated by the lab and waited for by the worker's activities, takes
// minutes. node:timers (which the Temporal worker's internals use) and performance.now stay real,
// and so does the Temporal server: workflow time is the server's.
const K = Number(process.env.BENCH_TIME_SCALE ?? 40);
if (!(K >= 1)) throw new Error(`BENCH_TIME_SCALE must be a number ≥ 1, not ${process.env.BENCH_TIME_SCALE}`);
const RealDate = Date;
const origin = RealDate.now();
const fastNow = () => origin + (RealDate.now() - origin) * K;

class FastDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(fastNow());
    else super(...args);
  }
  static now() {
    return fastNow();
  }
}
globalThis.Date = FastDate;

const realSetTimeout = globalThis.setTimeout;
const realSetInterval = globalThis.setInterval;
globalThis.setTimeout = (fn, ms, ...args) => realSetTimeout(fn, Math.max(0, (Number(ms) || 0) / K), ...args);
globalThis.setInterval = (fn, ms, ...args) => realSetInterval(fn, Math.max(1, (Number(ms) || 0) / K), ...args);
