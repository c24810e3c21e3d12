import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { RunLiveness } from '../catalog/prune.js';

/**
 * Asks Temporal whether a set's run has ended. A run the server does not know (another server,
 * a namespace whose history expired) is "cannot tell": only the manifest's deadline decides then.
 */
export function runLivenessFrom(client: Client): RunLiveness {
  return async (m) => {
    try {
      const d = await client.workflow.getHandle(m.workflow.workflowId, m.workflow.runId).describe();
      return d.status.name !== 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };
}
