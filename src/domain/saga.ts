/**
 * The compensation stack of a workflow that changes the estate. Each step pushes how it is undone
 * *before* it acts (so a step that fails half-way, or whose worker dies, is still undone: undo
 * steps are idempotent, like the steps). On failure or cancellation the workflow unwinds the
 * stack in reverse, inside a non-cancellable scope; every compensation runs even when an earlier
 * one failed, and the report says what was undone and what could not be, and why.
 *
 * Pure: no Temporal imports, so workflows and tests use it alike.
 */
export interface Compensation {
  /** The step it undoes, e.g. `addHost esx-05`. */
  step: string;
  /** What undoing does, for plans and reports, e.g. `remove esx-05 from cluster C1`. */
  undo: string;
  run: () => Promise<void>;
}

export interface RollbackReport {
  /** In the order they ran: the reverse of the steps. */
  undone: { step: string; undo: string }[];
  failed: { step: string; undo: string; error: string }[];
}

export class Saga {
  private readonly stack: Compensation[] = [];

  /** Registers the undo of the step about to run. */
  push(c: Compensation): void {
    this.stack.push(c);
  }

  /** The compensations registered so far, oldest first (what a rollback would undo, reversed). */
  get registered(): readonly { step: string; undo: string }[] {
    return this.stack.map(({ step, undo }) => ({ step, undo }));
  }

  /** Runs every compensation, newest first, once; a failing one is reported and the rest still run. */
  async unwind(): Promise<RollbackReport> {
    const report: RollbackReport = { undone: [], failed: [] };
    while (this.stack.length) {
      const c = this.stack.pop()!;
      try {
        await c.run();
        report.undone.push({ step: c.step, undo: c.undo });
      } catch (err) {
        report.failed.push({ step: c.step, undo: c.undo, error: err instanceof Error ? err.message : String(err) });
      }
    }
    return report;
  }
}
