import { isGrpcServiceError, ServiceError, WorkflowFailedError } from '@temporalio/client';
import { info } from './output.js';

/** A problem reaching Temporal, as opposed to an outcome of the run itself. */
export function isConnectionProblem(err: unknown): boolean {
  if (err instanceof WorkflowFailedError) return false;
  return err instanceof ServiceError || isGrpcServiceError(err) || isGrpcServiceError((err as { cause?: unknown })?.cause);
}

/**
 * The run's real outcome, however long Temporal is out of reach meanwhile: the wait reconnects
 * and goes on (saying so on stderr) until the run ends or the operator stops waiting (Ctrl-C
 * stops only the waiting; the run goes on).
 */
export async function outcomeOf<T>(result: () => Promise<T>, o: { retryEveryMs?: number } = {}): Promise<T> {
  let lostSince: number | undefined;
  for (;;) {
    try {
      const r = await result();
      if (lostSince !== undefined) info(`reached Temporal again after ${Math.round((Date.now() - lostSince) / 1000)} s`);
      return r;
    } catch (err) {
      if (!isConnectionProblem(err)) throw err;
      if (lostSince === undefined) {
        lostSince = Date.now();
        info(`lost Temporal (${(err as Error).message.split('\n')[0]}); the run goes on without us — still waiting for its outcome (Ctrl-C stops waiting, not the run)`);
      }
      await new Promise((r) => setTimeout(r, o.retryEveryMs ?? 2_000));
    }
  }
}
