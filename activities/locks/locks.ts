import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { acquireSignal, lockStateQuery, releaseSignal, lockWorkflowId, type LockRequest, type LockState } from '../../workflows/locks/endpoint-lock.js';
import { SddcOperation } from '../../src/temporal/search-attributes.js';

/**
 * Queues a run for an endpoint's lock: signal-with-start, so the lock workflow starts on the first
 * request and every later one joins its queue. A retried request is recognised by the lock.
 */
export async function requestEndpointLock({ resource, request }: { resource: string; request: LockRequest }): Promise<{ lockWorkflowId: string }> {
  const ctx = Context.current();
  const id = lockWorkflowId(resource);
  await ctx.client.workflow.signalWithStart('endpointLock', {
    workflowId: id,
    taskQueue: ctx.info.taskQueue,
    args: [{ resource }],
    signal: acquireSignal,
    signalArgs: [request],
    typedSearchAttributes: [{ key: SddcOperation, value: 'endpoint-lock' }],
    staticSummary: `One backup at a time on ${resource}`,
  });
  return { lockWorkflowId: id };
}

/**
 * Gives back (or withdraws a queued request for) each lock a run asked for, at the lock workflow id
 * the request went to: the id is decided here and in requestEndpointLock only, so a change of the
 * id scheme cannot send a release to a lock other than the one taken. A lock that has ended holds
 * nothing; any other failure is retried (a signal lost to a transient error would hold the
 * endpoint until the lock's next liveness check).
 */
export async function releaseEndpointLock({ locks, holder }: { locks: { resource: string; lockWorkflowId?: string }[]; holder: { workflowId: string; runId: string } }): Promise<void> {
  const client = Context.current().client;
  for (const l of locks) {
    try {
      await client.workflow.getHandle(l.lockWorkflowId ?? lockWorkflowId(l.resource)).signal(releaseSignal, holder);
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
}

/** Who holds an endpoint's lock and who waits, for messages that name them. */
export async function describeEndpointLock({ resource }: { resource: string }): Promise<LockState | undefined> {
  try {
    return await Context.current().client.workflow.getHandle(lockWorkflowId(resource)).query(lockStateQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/** Whether a run has ended (a run the server no longer knows has ended too). */
/** Whether a run has ended (without a run id: the newest run of that workflow id). */
export async function runHasEnded({ workflowId, runId }: { workflowId: string; runId?: string }): Promise<boolean> {
  try {
    const d = await Context.current().client.workflow.getHandle(workflowId, runId).describe();
    return d.status.name !== 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return true;
    throw err;
  }
}
