import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

/**
 * Temporal's remote codec protocol: POST …/encode and …/decode with `{payloads: [{metadata, data}]}`
 * (protobuf JSON: bytes as base64). Only the last path segment names the operation, so the
 * endpoint may be mounted under a path.
 *
 * Access: `Authorization: Bearer <token>`, or the token as the first path segment
 * (`http://host:port/<token>/decode`): the Web UI sends an Authorization header only with an SSO
 * login, so a UI pointed at the server with --ui-codec-endpoint carries the token in the URL.
 * Browsers: CORS only for `uiOrigin`; a request from any other origin is refused.
 */
export interface CodecServerOptions {
  codec: PayloadCodec;
  token: string;
  uiOrigin: string;
  ip?: string;
  port?: number;
  /** Largest request body accepted (default 16 MiB). */
  maxBodyBytes?: number;
  onError?: (message: string) => void;
}

type JsonPayload = { metadata?: Record<string, string>; data?: string };

const ALLOWED_HEADERS = 'Content-Type, X-Namespace, Authorization';

function sameToken(given: string | undefined, want: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(want);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function fromJsonPayload(p: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v, 'base64');
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

export function toJsonPayload(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = Buffer.from(v).toString('base64');
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

/** What a request asks for, or why it is refused. */
function route(req: IncomingMessage, o: CodecServerOptions): { op: 'encode' | 'decode' } | { status: number; error: string } {
  const segments = new URL(req.url ?? '/', 'http://codec').pathname.split('/').filter(Boolean);
  const op = segments.at(-1);
  if (op !== 'encode' && op !== 'decode') return { status: 404, error: 'POST /encode or /decode' };
  const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  const inPath = segments.length === 2 ? segments[0] : undefined;
  if (segments.length > 2 || !(sameToken(bearer, o.token) || sameToken(inPath, o.token))) return { status: 401, error: 'a bearer token is required (Authorization: Bearer <token>)' };
  if (req.method !== 'POST') return { status: 405, error: 'POST only' };
  return { op };
}

export async function startCodecServer(o: CodecServerOptions): Promise<{ url: string; close: () => Promise<void> }> {
  const max = o.maxBodyBytes ?? 16 * 1024 * 1024;
  const send = (res: ServerResponse, status: number, body: unknown, cors: boolean) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      ...(cors ? { 'access-control-allow-origin': o.uiOrigin, 'access-control-allow-credentials': 'true', vary: 'Origin' } : {}),
      ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}),
    });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const origin = req.headers.origin;
    // A browser page from another origin gets nothing, not even the preflight.
    if (origin !== undefined && origin !== o.uiOrigin) return send(res, 403, { error: `origin ${origin} is not the Temporal UI this codec server serves (${o.uiOrigin})` }, false);
    const cors = origin !== undefined;
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': o.uiOrigin,
        'access-control-allow-methods': 'POST, OPTIONS',
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-allow-credentials': 'true',
        'access-control-max-age': '600',
        vary: 'Origin',
      });
      return res.end();
    }
    const r = route(req, o);
    if ('status' in r) {
      req.resume();
      return send(res, r.status, { error: r.error }, cors);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        send(res, 413, { error: `request body over ${max} bytes` }, cors);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', async () => {
      if (res.headersSent) return;
      let payloads: Payload[];
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { payloads?: JsonPayload[] };
        if (!Array.isArray(body.payloads)) throw new Error('no payloads array');
        payloads = body.payloads.map(fromJsonPayload);
      } catch (err) {
        return send(res, 400, { error: `expected {"payloads": [{"metadata": {...}, "data": "..."}]}: ${(err as Error).message}` }, cors);
      }
      try {
        const out = r.op === 'encode' ? await o.codec.encode(payloads) : await o.codec.decode(payloads);
        send(res, 200, { payloads: out.map(toJsonPayload) }, cors);
      } catch (err) {
        o.onError?.(`${r.op}: ${(err as Error).message}`);
        send(res, 400, { error: (err as Error).message }, cors);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, o.ip ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${o.ip ?? '127.0.0.1'}:${addr.port}`,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
