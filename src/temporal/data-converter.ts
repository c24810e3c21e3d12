import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultFailureConverter, defaultPayloadConverter, type DataConverter, type LoadedDataConverter } from '@temporalio/common';
import { resolveSecret } from '../config/secrets.js';
import { AesGcmCodec, newPayloadKey, parsePayloadKey } from './codec.js';

/** `temporal.encryption` in the config: keys by id and the current one, or an explicit 'off'. */
export type EncryptionKeys = { currentKey: string; keys: Record<string, string> };
export type EncryptionSetting = 'off' | EncryptionKeys;

export class EncryptionConfigError extends Error {
  override readonly name = 'EncryptionConfigError';
}

const NOT_SET =
  'temporal.encryption is not set: sddc-ops encrypts every payload it sends to Temporal. Add a key ' +
  '(temporal.encryption: {currentKey: k1, keys: {k1: file:/path/to/key}}, the file holding `openssl rand -base64 32`), ' +
  'or write `encryption: off` to send payloads in clear (docs/security.md)';

/**
 * The codec for a setting: 'off' → none; keys → encrypt with the current key, decrypt with any;
 * unset → a codec that still decrypts nothing and refuses to encrypt, naming what to configure.
 * Keys are read here, in the process that talks to Temporal, never put in a payload.
 */
export async function payloadCodecFor(setting: EncryptionSetting | undefined): Promise<AesGcmCodec | undefined> {
  if (setting === 'off') return undefined;
  if (!setting) return new AesGcmCodec(new Map(), undefined, NOT_SET);
  const keys = new Map<string, Buffer>();
  for (const [id, ref] of Object.entries(setting.keys)) {
    let text: string;
    try {
      text = await resolveSecret(ref);
    } catch (err) {
      throw new EncryptionConfigError(`payload key "${id}": ${(err as Error).message}`);
    }
    try {
      keys.set(id, parsePayloadKey(text, `payload key "${id}" (${ref})`));
    } catch (err) {
      throw new EncryptionConfigError((err as Error).message);
    }
  }
  if (!keys.has(setting.currentKey)) throw new EncryptionConfigError(`temporal.encryption.currentKey "${setting.currentKey}" is not one of temporal.encryption.keys (${[...keys.keys()].join(', ')})`);
  return new AesGcmCodec(keys, setting.currentKey);
}

/**
 * failure-converter.js beside this file; from source (tests), the compiled one in dist/: the SDK
 * require()s it in the worker's main thread, which cannot load TypeScript.
 */
export function failureConverterPath(): string {
  for (const rel of ['./failure-converter.js', '../../dist/src/temporal/failure-converter.js']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error('dist/src/temporal/failure-converter.js is missing: run npm run build');
}

/** For a worker: the codec, and failure messages/stacks encoded so the codec covers them (off: the SDK's defaults). */
export function workerDataConverter(codec: AesGcmCodec | undefined): DataConverter {
  return codec ? { payloadCodecs: [codec], failureConverterPath: failureConverterPath() } : {};
}

/** For a client: the same, already loaded (a client needs no path). */
export function clientDataConverter(codec: AesGcmCodec | undefined): LoadedDataConverter {
  return {
    payloadConverter: defaultPayloadConverter,
    failureConverter: codec ? new DefaultFailureConverter({ encodeCommonAttributes: true }) : new DefaultFailureConverter(),
    payloadCodecs: codec ? [codec] : [],
  } as LoadedDataConverter;
}

/**
 * A key of its own for a machine-local setup (dev, the lab): `<dir>/payload-<id>.key`, made once and
 * kept, because histories in a database that outlives this process stay readable only with it.
 */
export function localPayloadKey(dir: string, id = 'local'): EncryptionKeys {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `payload-${id}.key`);
  if (!existsSync(file)) writeFileSync(file, newPayloadKey() + '\n', { mode: 0o600, flag: 'wx' });
  return { currentKey: id, keys: { [id]: `file:${file}` } };
}
