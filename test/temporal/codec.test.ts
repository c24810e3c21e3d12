import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmCodec, KEY_ID_METADATA, parsePayloadKey, PayloadDecryptFailed, PayloadKeyMissing, PayloadKeyUnknown } from '../../src/temporal/codec.js';
import { EncryptionConfigError, localPayloadKey, payloadCodecFor } from '../../src/temporal/data-converter.js';
import { encryptionSchema } from '../../src/config/schema.js';

const key = () => randomBytes(32);
const payload = (v: unknown): Payload => defaultPayloadConverter.toPayload(v)!;
const text = (p: Payload) => Buffer.from(p.data ?? []).toString('latin1') + JSON.stringify(Object.values(p.metadata ?? {}).map((m) => Buffer.from(m).toString('latin1')));

describe('AesGcmCodec', () => {
  const secret = { host: 'vcsa01.tokyo.example.com', dir: '/srv/backups/tokyo-1' };

  it('seals the whole payload under the current key id and opens it again', async () => {
    const codec = new AesGcmCodec(new Map([['k1', key()]]), 'k1');
    const [sealed] = await codec.encode([payload(secret)]);
    expect(Buffer.from(sealed!.metadata!.encoding!).toString()).toBe('binary/encrypted');
    expect(Buffer.from(sealed!.metadata![KEY_ID_METADATA]!).toString()).toBe('k1');
    // Neither the value nor its original encoding shows.
    expect(text(sealed!)).not.toMatch(/vcsa01|srv\/backups|json\/plain/);
    const [opened] = await codec.decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(secret);
  });

  it('uses a fresh IV per payload: the same value never seals the same way twice', async () => {
    const codec = new AesGcmCodec(new Map([['k1', key()]]), 'k1');
    const [a, b] = await codec.encode([payload('same'), payload('same')]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('after rotation, writes with the new key and still reads what the old one wrote', async () => {
    const k1 = key();
    const k2 = key();
    const before = new AesGcmCodec(new Map([['2026-05', k1]]), '2026-05');
    const [old] = await before.encode([payload('written in May')]);
    const after = new AesGcmCodec(new Map([['2026-05', k1], ['2026-11', k2]]), '2026-11');
    const [fresh] = await after.encode([payload('written in November')]);
    expect(Buffer.from(fresh!.metadata![KEY_ID_METADATA]!).toString()).toBe('2026-11');
    const opened = await after.decode([old!, fresh!]);
    expect(opened.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['written in May', 'written in November']);
  });

  it('a payload whose key is unknown fails naming that key id', async () => {
    const [old] = await new AesGcmCodec(new Map([['2026-05', key()]]), '2026-05').encode([payload('x')]);
    const now = new AesGcmCodec(new Map([['2026-11', key()]]), '2026-11');
    const err = await now.decode([old!]).catch((e: Error) => e);
    expect(err).toBeInstanceOf(PayloadKeyUnknown);
    expect((err as Error).message).toMatch(/key "2026-05".*\(2026-11\).*add key "2026-05" back/);
  });

  it('an altered payload, or the right id with the wrong key, does not open', async () => {
    const codec = new AesGcmCodec(new Map([['k1', key()]]), 'k1');
    const [sealed] = await codec.encode([payload('value')]);
    const altered = Buffer.from(sealed!.data!);
    altered[20] = altered[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data: altered }])).rejects.toBeInstanceOf(PayloadDecryptFailed);
    const impostor = new AesGcmCodec(new Map([['k1', key()]]), 'k1');
    await expect(impostor.decode([sealed!])).rejects.toThrow(/does not decrypt with that key/);
    await expect(codec.decode([{ ...sealed!, data: altered.subarray(0, 10) }])).rejects.toThrow(/truncated/);
  });

  it('without a current key it refuses to encode, saying why, and passes clear payloads through on decode', async () => {
    const codec = new AesGcmCodec(new Map(), undefined, 'temporal.encryption is not set');
    await expect(codec.encode([payload('x')])).rejects.toBeInstanceOf(PayloadKeyMissing);
    await expect(codec.encode([payload('x')])).rejects.toThrow('temporal.encryption is not set');
    const clear = payload('clear');
    expect(await codec.decode([clear])).toEqual([clear]);
  });

  it('refuses keys that are not 32 bytes, and a current key it does not have', () => {
    expect(() => new AesGcmCodec(new Map([['k', randomBytes(16)]]), 'k')).toThrow(/16 bytes; AES-256 needs 32/);
    expect(() => new AesGcmCodec(new Map([['k', key()]]), 'other')).toThrow(/"other" is not among/);
  });
});

describe('payload keys from the config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'codec-test-'));
  const file = (name: string, content: string) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return `file:${p}`;
  };

  it('reads base64 and hex keys through secret references', async () => {
    const b64 = randomBytes(32);
    const hex = randomBytes(32);
    const codec = await payloadCodecFor({ currentKey: 'a', keys: { a: file('a', b64.toString('base64') + '\n'), b: file('b', hex.toString('hex')) } });
    const [sealed] = await codec!.encode([payload(1)]);
    expect(defaultPayloadConverter.fromPayload((await new AesGcmCodec(new Map([['a', b64]]), 'a').decode([sealed!]))[0]!)).toBe(1);
  });

  it('names the key and what to write when a key file holds something else', async () => {
    await expect(payloadCodecFor({ currentKey: 'a', keys: { a: file('short', 'c2hvcnQ=') } })).rejects.toThrow(/payload key "a".*openssl rand -base64 32/);
    expect(() => parsePayloadKey('x'.repeat(64), 'k')).toThrow(/not a payload key/);
    await expect(payloadCodecFor({ currentKey: 'a', keys: { a: `file:${join(dir, 'missing')}` } })).rejects.toBeInstanceOf(EncryptionConfigError);
  });

  it("'off' means no codec; unset means a codec that will not encrypt without a key", async () => {
    expect(await payloadCodecFor('off')).toBeUndefined();
    await expect((await payloadCodecFor(undefined))!.encode([payload(1)])).rejects.toThrow(/temporal.encryption is not set.*encryption: off/);
  });

  it('a local key is made once and kept, so a database that outlives the process stays readable', async () => {
    const d = join(dir, 'local');
    const first = localPayloadKey(d, 'dev');
    const [sealed] = await (await payloadCodecFor(first))!.encode([payload('kept')]);
    const again = localPayloadKey(d, 'dev');
    expect(again).toEqual(first);
    expect(defaultPayloadConverter.fromPayload((await (await payloadCodecFor(again))!.decode([sealed!]))[0]!)).toBe('kept');
  });

  it('the schema takes off or keys with a current one among them, nothing else', () => {
    expect(encryptionSchema.safeParse('off').success).toBe(true);
    expect(encryptionSchema.safeParse({ currentKey: 'k2', keys: { k1: 'env:K1', k2: 'file:/k2' } }).success).toBe(true);
    expect(encryptionSchema.safeParse('no').success).toBe(false);
    expect(encryptionSchema.safeParse({ currentKey: 'k3', keys: { k1: 'env:K1' } }).error?.issues[0]?.message).toMatch(/currentKey must be one of/);
    expect(encryptionSchema.safeParse({ currentKey: 'k1', keys: { k1: 'bG9uZ2tleQ==' } }).success).toBe(false); // a key itself, not a reference
    expect(encryptionSchema.safeParse({ currentKey: '../k', keys: { '../k': 'env:K' } }).success).toBe(false);
  });
});
