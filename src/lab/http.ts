import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { CertAndKey } from './tls.js';

export interface LabRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
  rawBody: string;
}
export interface LabResponse {
  status: number;
  body?: unknown;
  /** Sent as it is (XML APIs), with its content type: `body` is ignored. */
  raw?: { text: string; contentType: string };
  headers?: Record<string, string>;
}
export type LabHandler = (req: LabRequest) => Promise<LabResponse> | LabResponse;

/** Requests under `prefix` go, untouched, to the server at `target()` (none: 503). */
export interface LabPassThrough {
  prefix: string;
  target: () => string | undefined;
}

/** Streams the request to `target` and the answer back, headers and all (cookies, SOAP faults). */
function passThrough(req: IncomingMessage, res: ServerResponse, target: string | undefined): void {
  if (!target) {
    res.writeHead(503, { 'content-type': 'text/plain' }).end('this lab runs without its SOAP peer (Go was not available to build it)');
    return;
  }
  const to = new URL(req.url ?? '/', target);
  const out = request(to, { method: req.method, headers: { ...req.headers, host: to.host } }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  out.on('error', (err) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`lab SOAP peer: ${err.message}`);
  });
  req.pipe(out);
}

export interface ListenOptions {
  port?: number;
  host?: string;
  through?: LabPassThrough;
  /** Serve HTTPS with this certificate (the lab does; a simulator started alone may serve plain HTTP). */
  tls?: CertAndKey;
}

/** A loopback HTTP(S) server whose handler sees parsed JSON; used by every simulator in the lab. */
export async function listen(handler: LabHandler, { port = 0, host = '127.0.0.1', through, tls }: ListenOptions = {}): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    if (through && (req.url === through.prefix || req.url?.startsWith(`${through.prefix}/`) || req.url?.startsWith(`${through.prefix}?`))) return passThrough(req, res, through.target());
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = rawBody && /json/.test(req.headers['content-type'] ?? '') ? JSON.parse(rawBody) : rawBody || undefined;
      } catch {
        body = undefined;
      }
      const url = new URL(req.url ?? '/', 'http://lab');
      let out: LabResponse;
      try {
        out = await handler({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body, rawBody });
      } catch (err) {
        out = { status: 500, body: { error: (err as Error).message } };
      }
      const text = out.raw ? out.raw.text : out.body === undefined ? '' : JSON.stringify(out.body);
      res.writeHead(out.status, { ...(out.raw ? { 'content-type': out.raw.contentType } : text ? { 'content-type': 'application/json' } : {}), ...out.headers });
      res.end(text);
    });
  };
  const server: Server = tls ? createTlsServer({ cert: tls.certPem, key: tls.keyPem }, serve) : createServer(serve);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    server,
    url: `${tls ? 'https' : 'http'}://${host}:${addr.port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

export function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const text = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const i = text.indexOf(':');
  return i < 0 ? undefined : { user: text.slice(0, i), password: text.slice(i + 1) };
}
