import { connect, createSecureContext, type PeerCertificate, type SecureContext, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { warn } from './warn.js';

/** How an endpoint's certificate is checked; every product endpoint in the config carries these. */
export interface EndpointTls {
  /** PEM of the CA that signed the endpoint's certificate, trusted instead of the public CAs. */
  caFile?: string;
  /** No CA, validity or host-name check (explicit only); each use logs a warning. */
  insecure?: boolean;
  /** SHA-256 fingerprint(s) of the endpoint's certificate, hex pairs with colons; any one matches. */
  certFingerprint?: string | string[];
}

export function tlsOf(e: EndpointTls): EndpointTls {
  return { caFile: e.caFile, insecure: e.insecure, certFingerprint: e.certFingerprint };
}

/** What was wrong with the certificate, for code; the message says it for the operator. */
export type TlsProblem = 'unknown-ca' | 'expired' | 'not-yet-valid' | 'wrong-host' | 'fingerprint' | 'rejected';

/** The endpoint's certificate was not accepted. No retry fixes it: the config or the certificate must change. */
export class TlsVerifyError extends Error {
  override readonly name = 'TlsVerifyFailed';
  constructor(readonly endpoint: string, readonly problem: TlsProblem, reason: string, check: string) {
    super(`${endpoint}: TLS certificate not accepted: ${reason} — check ${check}`);
  }
}

/** The fingerprint as Node and `openssl x509 -fingerprint -sha256` print it: upper-case hex pairs with colons. */
export function canonicalFingerprint(fp: string): string {
  return fp.replace(/:/g, '').toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

const UNKNOWN_CA = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
]);

/**
 * One SecureContext per CA file (and one for the public CAs), reused by every connection: building
 * one parses the CA (or loads the whole public store) and cost more than the handshake it serves.
 * A CA file replaced on disk (new size or mtime) gets a new context on the next connection.
 */
const contexts = new Map<string, { stamp: string; context: SecureContext }>();
function contextOf(caFile: string | undefined): SecureContext {
  const key = caFile ?? '';
  const stamp = caStamp(caFile);
  const known = contexts.get(key);
  if (known && known.stamp === stamp) return known.context;
  const context = createSecureContext(caFile ? { ca: readFileSync(caFile) } : {});
  contexts.set(key, { stamp, context });
  return context;
}
/** Changes when the CA file is replaced or edited; '' without one. Throws when it cannot be read. */
export function caStamp(caFile: string | undefined): string {
  if (!caFile) return '';
  const st = statSync(caFile);
  return `${st.size}:${st.mtimeMs}:${st.ino}`;
}

const utc = (d: string | undefined) => (d && !Number.isNaN(Date.parse(d)) ? new Date(d).toISOString() : (d ?? '?'));

/** The names a certificate is for: its subjectAltName entries, or its CN without any. */
function namesOf(cert: PeerCertificate): string {
  const alt = cert.subjectaltname?.split(', ').map((n) => n.replace(/^(DNS|IP Address):/, ''));
  return alt?.length ? alt.join(', ') : [cert.subject?.CN ?? '(no name)'].flat().join(', ');
}

function verifyFailure(code: string, cert: PeerCertificate, host: string, endpoint: string, caFile: string | undefined): TlsVerifyError {
  const caCheck = caFile
    ? `the endpoint's caFile (${caFile}): it must hold the CA that issued the certificate`
    : "the endpoint's caFile: set it to the PEM of the CA that issued the certificate (without one, only public CAs are trusted)";
  if (UNKNOWN_CA.has(code)) {
    return new TlsVerifyError(endpoint, 'unknown-ca', `it is signed by a CA this machine does not trust (issuer "${[cert.issuer?.CN ?? '?'].flat().join(', ')}", ${code})`, caCheck);
  }
  if (code === 'CERT_HAS_EXPIRED') {
    return new TlsVerifyError(endpoint, 'expired', `it expired on ${utc(cert.valid_to)}`, "the certificate's validity on the product (renew it) and this machine's clock");
  }
  if (code === 'CERT_NOT_YET_VALID') {
    return new TlsVerifyError(endpoint, 'not-yet-valid', `it is not valid before ${utc(cert.valid_from)}`, "this machine's clock and the certificate's validity on the product");
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new TlsVerifyError(endpoint, 'wrong-host', `it is for ${namesOf(cert)}, not ${host}`, "the URL's host name (use a name the certificate holds) or the certificate's subjectAltName");
  }
  return new TlsVerifyError(endpoint, 'rejected', `verification failed (${code})`, `${caCheck}, and the certificate itself`);
}

/** Checks the peer as configured: CA, validity and host name unless insecure; then the pin, if any. */
function judge(socket: TLSSocket, tls: EndpointTls, host: string, endpoint: string): TlsVerifyError | undefined {
  // The certificate is parsed only when needed (a failure, or a pin to compare): parsing it for
  // every connection was a fifth of the worker's TLS time.
  if (!tls.insecure && !socket.authorized) return verifyFailure(String(socket.authorizationError), socket.getPeerCertificate(), host, endpoint, tls.caFile);
  const pins = [tls.certFingerprint ?? []].flat().map(canonicalFingerprint);
  if (!pins.length) return undefined;
  const cert = socket.getPeerCertificate();
  if (!pins.includes(cert.fingerprint256 ?? '')) {
    return new TlsVerifyError(
      endpoint,
      'fingerprint',
      `its SHA-256 fingerprint ${cert.fingerprint256 ?? '(none)'} does not match the pinned ${pins.join(' or ')}`,
      "the endpoint's certFingerprint: a renewed certificate needs its new fingerprint (openssl s_client -connect HOST:PORT </dev/null | openssl x509 -noout -fingerprint -sha256), or someone else answers at that address",
    );
  }
  return undefined;
}

/** Said on every request to an endpoint configured insecure (a kept connection is checked no more than a new one). */
export function warnInsecure(url: URL, tls: EndpointTls, product: string | undefined): void {
  if (!tls.insecure) return;
  const endpoint = `${product ?? 'endpoint'} at ${url.host}`;
  warn(
    `TLS verification is off for ${endpoint} (insecure: true in the config): ${
      tls.certFingerprint ? 'only the pinned fingerprint is checked, not the CA, validity or host name' : 'its certificate is not checked, so whoever answers at that address gets the credentials'
    }; set caFile (or certFingerprint) and remove insecure`,
    { endpoint, insecure: true },
  );
}

/**
 * Opens a TLS connection and checks the certificate before anything is sent on it: a request (and
 * its credentials) never reaches a server that fails the checks, pinned or not.
 */
export function openVerifiedTls(url: URL, tls: EndpointTls, o: { product?: string; timeoutMs: number; onTimeout: () => Error }): Promise<TLSSocket> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const endpoint = `${o.product ?? 'endpoint'} at ${url.host}`;
  return new Promise((resolve, reject) => {
    // Checked by judge() once the handshake is done, so that a failure can say exactly what is wrong.
    const socket = connect({ host, port: Number(url.port || 443), servername: isIP(host) ? undefined : host, secureContext: contextOf(tls.caFile), rejectUnauthorized: false });
    socket.setTimeout(o.timeoutMs, () => socket.destroy(o.onTimeout()));
    socket.on('error', reject);
    socket.once('secureConnect', () => {
      const problem = judge(socket, tls, host, endpoint);
      if (problem) {
        socket.destroy();
        reject(problem);
        return;
      }
      socket.setTimeout(0);
      resolve(socket);
    });
  });
}
