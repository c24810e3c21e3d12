import { patched } from '@temporalio/workflow';

/**
 * Every change to workflow code that would make a run in flight replay differently goes behind a
 * patch id here. Runs started before the change take the old path (their history has no marker);
 * new runs record the marker and take the new one. test/replay proves that the histories recorded
 * before each patch still replay, and that they would not without it.
 *
 * Once no run older than a patch can still be open, swap patched() for deprecatePatch() at its
 * call site, then delete both a release later (https://docs.temporal.io/develop/typescript/versioning).
 */
export const Patch = {
  /** coordinatedBackup gives its endpoint locks back through an activity, at the ids the requests went to (was: signals from workflow code). */
  releaseLocksByActivity: 'release-locks-by-activity',
} as const;

export function isPatched(id: (typeof Patch)[keyof typeof Patch]): boolean {
  return patched(id);
}
