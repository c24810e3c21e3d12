import { ApplicationFailure } from '@temporalio/common';
import { HttpError, HttpTimeoutError } from '../src/providers/http.js';
import { TlsVerifyError } from '../src/providers/tls.js';
import { SecretUnavailableError } from '../src/config/secrets.js';
import { NON_RETRYABLE_TYPES, type NonRetryableType } from '../src/domain/failure-types.js';
import { FingerprintMismatchError, SftpAuthError, TargetDirectoryError } from '../src/providers/sftp/errors.js';


export function nonRetryable(type: NonRetryableType, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: true, details: details === undefined ? undefined : [details] });
}

/** Maps what providers throw onto Temporal failures with operator-facing types and messages. */
export function classify(err: unknown): Error {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof FingerprintMismatchError) {
    return nonRetryable('FingerprintMismatch', err.message, { expected: err.expected, actual: err.actual, keyType: err.keyType });
  }
  if (err instanceof SftpAuthError) return nonRetryable('SftpAuthenticationFailed', err.message);
  if (err instanceof TargetDirectoryError) return nonRetryable('TargetDirectoryUnusable', err.message);
  if (err instanceof SecretUnavailableError) return nonRetryable('SecretUnavailable', err.message);
  if (err instanceof TlsVerifyError) return nonRetryable('TlsVerifyFailed', err.message, { endpoint: err.endpoint, problem: err.problem });
  if (err instanceof HttpError) {
    if (err.status === 401 || err.status === 403) {
      return nonRetryable('AuthenticationFailed', `${err.message} — check the user and password reference for ${err.product} in the config, and that the account may run backups`);
    }
    if (err.status === 404) return nonRetryable('NotFound', `${err.message} — check the URL in the config and the product version`);
    if (!err.retryable) return nonRetryable('BadRequest', err.message);
    return ApplicationFailure.create({ type: 'ProductUnavailable', message: err.message });
  }
  if (err instanceof HttpTimeoutError) return ApplicationFailure.create({ type: 'ProductTimeout', message: err.message });
  return err instanceof Error ? err : new Error(String(err));
}

export { NON_RETRYABLE_TYPES };

export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw classify(err);
  }
}
