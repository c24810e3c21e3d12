import { readFile } from 'node:fs/promises';

/**
 * A secret is never written in config, workflow inputs or results: only a reference to where it
 * lives. References are resolved inside activities, on the worker that needs the value.
 */
export type SecretRef = `env:${string}` | `file:${string}`;

export const SECRET_REF_RE = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/;

export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailable';
  constructor(readonly ref: string, reason: string) {
    super(`secret ${ref} could not be read: ${reason}`);
  }
}

export function isSecretRef(value: string): value is SecretRef {
  return SECRET_REF_RE.test(value);
}

export async function resolveSecret(ref: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (!isSecretRef(ref)) {
    throw new SecretUnavailableError('(not a reference)', 'secrets must be written as env:NAME or file:PATH');
  }
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    const value = env[name];
    if (value === undefined || value === '') {
      throw new SecretUnavailableError(ref, `environment variable ${name} is not set on this worker; export it before starting the worker`);
    }
    return value;
  }
  const path = ref.slice(5);
  try {
    return (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new SecretUnavailableError(ref, `${code} reading ${path} on this worker`);
  }
}
