import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';

const { temporal } = proto; // a CommonJS module: no named exports under ESM

/** The metadata encoding of a payload this codec sealed; anything else passes through as it is. */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A payload carries a key id that none of the configured keys has. */
export class PayloadKeyUnknown extends Error {
  override readonly name = 'PayloadKeyUnknown';
  constructor(readonly keyId: string, known: string[]) {
    super(
      `a payload is encrypted with key "${keyId}", which is not among this process's keys (${known.length ? known.join(', ') : 'none'}): ` +
        `add key "${keyId}" back to temporal.encryption.keys — keep every key as long as histories written with it are kept`,
    );
  }
}

/** Something must be encrypted, and this process has no current key. */
export class PayloadKeyMissing extends Error {
  override readonly name = 'PayloadKeyMissing';
}

export class PayloadDecryptFailed extends Error {
  override readonly name = 'PayloadDecryptFailed';
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null | undefined) => (b ? new TextDecoder().decode(b) : undefined);

/**
 * AES-256-GCM over the whole serialized payload (metadata and data), with a fresh 96-bit IV per
 * payload and the key id as additional data. New payloads use `current`; every key in `keys`
 * decrypts, so a rotated-out key keeps old histories readable while it stays listed.
 */
export class AesGcmCodec implements PayloadCodec {
  constructor(
    private readonly keys: ReadonlyMap<string, Buffer>,
    private readonly current: string | undefined,
    /** Why there is no current key, for the message when something must be encrypted. */
    private readonly noKeyReason = 'no payload key is configured',
  ) {
    for (const [id, k] of keys) if (k.length !== 32) throw new Error(`payload key "${id}" is ${k.length} bytes; AES-256 needs 32`);
    if (current !== undefined && !keys.has(current)) throw new Error(`the current payload key "${current}" is not among the keys`);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    if (this.current === undefined) throw new PayloadKeyMissing(this.noKeyReason);
    const id = this.current;
    const key = this.keys.get(id)!;
    return payloads.map((p) => {
      const iv = randomBytes(IV_BYTES);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(Buffer.from(id));
      const body = Buffer.concat([c.update(temporal.api.common.v1.Payload.encode(p).finish()), c.final()]);
      return { metadata: { encoding: enc(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: enc(id) }, data: Buffer.concat([iv, body, c.getAuthTag()]) };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => {
      if (dec(p.metadata?.encoding) !== ENCRYPTED_ENCODING) return p;
      const id = dec(p.metadata?.[KEY_ID_METADATA]) ?? '(none)';
      const key = this.keys.get(id);
      if (!key) throw new PayloadKeyUnknown(id, [...this.keys.keys()]);
      const data = Buffer.from(p.data ?? new Uint8Array());
      if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadDecryptFailed(`a payload encrypted with key "${id}" is truncated`);
      try {
        const d = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
        d.setAAD(Buffer.from(id));
        d.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const clear = Buffer.concat([d.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), d.final()]);
        return temporal.api.common.v1.Payload.decode(clear);
      } catch {
        throw new PayloadDecryptFailed(`a payload marked with key "${id}" does not decrypt with that key: the key file holds another key than the one it was written with, or the payload was altered`);
      }
    });
  }
}

/** A key as written in its file or variable: 32 bytes, base64 (openssl rand -base64 32) or 64 hex digits. */
export function parsePayloadKey(text: string, where: string): Buffer {
  const t = text.trim();
  const k = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : /^[A-Za-z0-9+/]{43}=$/.test(t) ? Buffer.from(t, 'base64') : undefined;
  if (!k || k.length !== 32) throw new Error(`${where} is not a payload key: write 32 random bytes as base64 (openssl rand -base64 32) or 64 hex digits`);
  return k;
}

/** A new key, as a key file holds it. */
export function newPayloadKey(): string {
  return randomBytes(32).toString('base64');
}
