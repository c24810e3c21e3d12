import { Context } from '@temporalio/activity';

/**
 * A warning for the operator: inside an activity through the worker's logger (it carries the run
 * and activity ids); elsewhere (the CLI: doctor, site ready) on stderr.
 */
export function warn(message: string, meta?: Record<string, unknown>): void {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    /* not inside an activity */
  }
  if (ctx) ctx.log.warn(message, meta);
  else process.stderr.write(`warning: ${message}\n`);
}
