import { DefaultFailureConverter } from '@temporalio/common';

/**
 * Failure messages and stack traces go into an encoded payload, so the payload codec encrypts them
 * too. Loaded by path (the SDK requires it in the worker and bundles it into the workflow code).
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
