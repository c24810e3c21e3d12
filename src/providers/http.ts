import { request as httpRequest, type ClientRequestArgs } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { openVerifiedTls, TlsVerifyError, warnInsecure, type EndpointTls } from './tls.js';
import { agentFor, type VerifiedConnect } from './https-agents.js';

export interface HttpRequest extends EndpointTls {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Objects are sent as JSON; strings as they are. */
  body?: unknown;
  timeoutMs?: number;
  /** The product, as messages about its endpoint name it ("NSX Manager"). */
  product?: string;
  /** The URL came from a secret reference (a webhook's path holds its token): errors name the host only. */
  secretUrl?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** A product answered with an error status. `product` names it for the operator. */
export class HttpError extends Error {
  override readonly name: string = 'HttpError';
  constructor(readonly product: string, readonly method: string, readonly url: string, readonly status: number, readonly detail: string) {
    super(`${product} answered ${status} to ${method} ${new URL(url).pathname}: ${detail}`);
  }
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

export class HttpTimeoutError extends Error {
  override readonly name = 'HttpTimeout';
}

/**
 * The one HTTP helper: a timeout on every call; over HTTPS the certificate is checked (the
 * endpoint's caFile, its pin, or — only when the config says insecure — not at all) before the
 * request is sent.
 */
export function send(req: HttpRequest): Promise<HttpResponse> {
  const url = new URL(req.url);
  const isJson = req.body !== undefined && typeof req.body !== 'string';
  const payload = req.body === undefined ? undefined : isJson ? JSON.stringify(req.body) : String(req.body);
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  if (payload !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  const timeoutMs = req.timeoutMs ?? 30_000;
  const where = req.secretUrl ? url.host : `${url.host}${url.pathname}`;
  const timedOut = () => new HttpTimeoutError(`${req.method} ${where} timed out after ${timeoutMs} ms`);
  const options: ClientRequestArgs & { verifiedConnect?: VerifiedConnect } = { method: req.method, headers, timeout: timeoutMs };
  let fn = httpRequest;
  if (url.protocol === 'https:') {
    fn = httpsRequest;
    // Every new connection is verified before the request is written; the agent keeps verified
    // connections for the next requests made under the same TLS settings.
    try {
      options.agent = agentFor(req);
    } catch (err) {
      return Promise.reject(err as Error); // an unreadable caFile, as a connection would have found it
    }
    warnInsecure(url, req, req.product);
    options.verifiedConnect = (done) =>
      void openVerifiedTls(url, req, { product: req.product, timeoutMs, onTimeout: timedOut }).then((s) => done(null, s), (err: Error) => done(err));
  }
  const once = (): Promise<HttpResponse> =>
    new Promise((resolve, reject) => {
      let answered = false;
      const r = fn(url, options, (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      r.on('timeout', () => r.destroy(timedOut()));
      r.on('error', (err) => reject(r.reusedSocket && !answered && STALE.has((err as NodeJS.ErrnoException).code ?? '') ? new StaleConnection(err) : err));
      if (payload !== undefined) r.write(payload);
      r.end();
    });
  // A kept connection that the server had closed as the request went out fails before any answer:
  // the request did not reach the server, so it goes again, once, on a new connection.
  return once()
    .catch((err: Error) => (err instanceof StaleConnection ? once() : Promise.reject(err)))
    .catch((err: Error) => {
      const e = err instanceof StaleConnection ? err.cause : err;
      // TLS failures name the host only, so they stay as they are even for a secret URL.
      throw req.secretUrl && !(e instanceof HttpTimeoutError) && !(e instanceof TlsVerifyError) ? withoutUrl(req.method, e, url) : e;
    });
}

const STALE = new Set(['ECONNRESET', 'EPIPE']);
class StaleConnection extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

/** A network error re-told without anything of the URL but its host (Node names hosts, but be sure). */
function withoutUrl(method: string, err: Error, url: URL): Error {
  let text = `${(err as NodeJS.ErrnoException).code ?? 'request failed'}: ${err.message}`;
  for (const part of [url.href, url.pathname + url.search, url.pathname].filter((p) => p.length > 1)) text = text.split(part).join('/…');
  return new Error(`${method} to ${url.host} failed (${text})`);
}

export function basicAuth(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}

/**
 * What a product said in an error body, in its own words: `pick` reads the product's error shape
 * (NSX error_message, vAPI messages, IAM errorMessage, IKS description); a body that is not JSON,
 * or not that shape, is given raw (cut), or as `HTTP <status>` when empty.
 */
export function errorDetail<E>(res: { status: number; text: string }, pick: (body: E) => string | undefined, rawLimit = 500): string {
  try {
    const said = res.text ? pick(JSON.parse(res.text) as E) : undefined;
    if (said) return said;
  } catch {
    /* not JSON: the raw text */
  }
  return res.text.slice(0, rawLimit) || `HTTP ${res.status}`;
}

export function parseJson<T>(text: string): T {
  return (text ? JSON.parse(text) : undefined) as T;
}
