import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type * as activities from '../activities/index.js';
import type { SiteRuntime } from '../activities/config.js';
import { NON_RETRYABLE_TYPES } from '../src/domain/failure-types.js';

const { loadSiteConfig } = proxyActivities<typeof activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] },
});

/**
 * Workflow inputs carry the site's name only; this first step reads the site from the worker's
 * config as it is now (its result is in the history, so a replay sees what the run saw).
 */
export async function loadSite(site: string, what: string): Promise<SiteRuntime> {
  try {
    return await loadSiteConfig.executeWithOptions({ summary: `Read site ${site} from the worker's config` }, [{ site }]);
  } catch (err) {
    const cause = err instanceof ActivityFailure && err.cause ? err.cause : (err as Error);
    throw ApplicationFailure.create({ type: 'BadConfig', nonRetryable: true, message: `${what} of site ${site} cannot start: ${cause.message}`, cause });
  }
}
