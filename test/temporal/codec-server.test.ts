import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec } from '../../src/temporal/codec.js';
import { startCodecServer, toJsonPayload, fromJsonPayload } from '../../src/temporal/codec-server.js';

const UI = 'http://127.0.0.1:8233';
const TOKEN = randomBytes(24).toString('hex');
const codec = new AesGcmCodec(new Map([['k1', randomBytes(32)]]), 'k1');
let server: Awaited<ReturnType<typeof startCodecServer>>;

beforeAll(async () => {
  server = await startCodecServer({ codec, token: TOKEN, uiOrigin: UI });
});
afterAll(() => server.close());

const sealed = async (v: unknown) => toJsonPayload((await codec.encode([defaultPayloadConverter.toPayload(v)!]))[0]!);
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers }, body: JSON.stringify(body) });
const valueOf = async (res: Response) => ((await res.json()) as { payloads: Parameters<typeof fromJsonPayload>[0][] }).payloads.map((p) => defaultPayloadConverter.fromPayload(fromJsonPayload(p)));

describe('codec server (Temporal remote codec protocol)', () => {
  it('decodes with the bearer token', async () => {
    const res = await post('/decode', { payloads: [await sealed({ dir: '/srv/backups/tokyo-1' })] }, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    expect(await valueOf(res)).toEqual([{ dir: '/srv/backups/tokyo-1' }]);
  });

  it('encodes what decode then opens (the UI signalling a workflow sends encode)', async () => {
    const clear = toJsonPayload(defaultPayloadConverter.toPayload('signal arg')!);
    const enc = (await (await post('/encode', { payloads: [clear] }, { authorization: `Bearer ${TOKEN}` })).json()) as { payloads: { metadata: Record<string, string> }[] };
    expect(Buffer.from(enc.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
    expect(await valueOf(await post('/decode', enc, { authorization: `Bearer ${TOKEN}` }))).toEqual(['signal arg']);
  });

  it('takes the token as the first path segment, for a UI pointed at it with --ui-codec-endpoint', async () => {
    const res = await post(`/${TOKEN}/decode`, { payloads: [await sealed('x')] }, { origin: UI });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI);
    expect(await valueOf(res)).toEqual(['x']);
  });

  it('answers 401 without the token, or with another, and decodes nothing', async () => {
    for (const [path, headers] of [['/decode', {}], ['/decode', { authorization: 'Bearer nope' }], ['/nope/decode', {}], [`/a/${TOKEN}/decode`, {}]] as const) {
      const res = await post(path, { payloads: [await sealed('secret value')] }, headers);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      expect(await res.text()).not.toContain('secret value');
    }
  });

  it('lets the UI origin through CORS, with the headers the UI sends', async () => {
    const res = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI);
    expect(res.headers.get('access-control-allow-headers')).toMatch(/Content-Type.*X-Namespace.*Authorization/);
  });

  it('refuses another origin, even with the token', async () => {
    const pre = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(403);
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const res = await post('/decode', { payloads: [await sealed('secret value')] }, { origin: 'http://evil.example', authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain('secret value');
  });

  it('says what is wrong with a body, and names an unknown key', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await post('/decode', { nope: 1 }, auth)).status).toBe(400);
    const foreign = toJsonPayload((await new AesGcmCodec(new Map([['2025-01', randomBytes(32)]]), '2025-01').encode([defaultPayloadConverter.toPayload(1)!]))[0]!);
    const res = await post('/decode', { payloads: [foreign] }, auth);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/key "2025-01"/);
    expect((await post('/other', {}, auth)).status).toBe(404);
  });
});
