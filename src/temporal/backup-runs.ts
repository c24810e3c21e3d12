import { backupRunTimeoutMs } from '../domain/backup-set.js';
import { parseDuration } from '../domain/duration.js';
import { WorkflowExecutionAlreadyStartedError, WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { CoordinatedBackupInput } from '../../workflows/backup/coordinated-backup.js';
import type { SiteConfig } from '../config/schema.js';
import { SddcOperation, SddcSite } from './search-attributes.js';
import type { coordinatedBackup } from '../../workflows/backup/coordinated-backup.js';

export const backupWorkflowId = (site: string) => `coordinated-backup-${site}`;
/** A drill's id names its site and start (schedules append their own time to the prefix): sets record it as `drillRun`. */
export const drillWorkflowId = (site: string, at?: Date) => `restore-drill-${site}${at ? `-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}` : ''}`;

export class BackupAlreadyRunning extends Error {
  override readonly name = 'BackupAlreadyRunning';
  constructor(readonly workflowId: string, readonly runId: string, readonly startedAt?: Date) {
    super(`a backup of this site is already running: workflow ${workflowId}, run ${runId}${startedAt ? `, started ${startedAt.toISOString()}` : ''}`);
  }
}

export function uiLink(uiUrl: string | undefined, namespace: string, workflowId: string, runId: string): string | undefined {
  if (!uiUrl) return undefined;
  return `${uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

/** One backup per site at a time: a fixed workflow id and the FAIL conflict policy. */
export async function startCoordinatedBackup(
  client: Client,
  o: { input: CoordinatedBackupInput; taskQueue: string; /** The site as the starter's config has it: for the timeout and the Web UI summary only. */ config: SiteConfig },
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof coordinatedBackup>> {
  const { site } = o.input;
  const config = o.config;
  const workflowId = backupWorkflowId(site);
  try {
    return await client.workflow.start<typeof coordinatedBackup>('coordinatedBackup', {
      taskQueue: o.taskQueue,
      workflowId,
      args: [o.input],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      // Past this Temporal ends the run, so a set can never stay `running` for ever.
      workflowExecutionTimeout: backupRunTimeoutMs(parseDuration(config.backup.timeout)),
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: [
        { key: SddcSite, value: site },
        { key: SddcOperation, value: 'coordinated-backup' },
      ],
      staticSummary: `Coordinated backup of site ${site}: NSX + vCenter → sftp://${config.backupTarget.host}${config.backupTarget.directory}`.slice(0, 200),
      staticDetails:
        `Backs up the NSX Manager configuration and the vCenter Server appliance to one SFTP target, ` +
        `verifies both (SHA-256 over SFTP) and writes \`backup-set.json\`.\n\n` +
        `- NSX: ${config.nsx.url}\n- vCenter: ${config.vcenter.url}\n- Target: ${config.backupTarget.host}:${config.backupTarget.port}${config.backupTarget.directory}`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      const running = await client.workflow.getHandle(workflowId).describe();
      throw new BackupAlreadyRunning(workflowId, running.runId, running.startTime);
    }
    throw err;
  }
}
