import { connect } from 'node:tls';
import { isIP } from 'node:net';
import type { TLSConfigOption } from '@temporalio/common/lib/internal-non-workflow/tls-config.js';

/**
 * Why a connection to Temporal failed, when TLS is why: the SDK says only "failed to connect before
 * the deadline" or "transport error". One TLS handshake of our own, with the same settings, tells
 * a missing or refused client certificate from an untrusted server certificate, a wrong name, or
 * TLS on one side only. Undefined when the handshake works, or the reason is not TLS.
 */
export async function diagnoseTls(address: string, tls: TLSConfigOption, timeoutMs = 5_000): Promise<string | undefined> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(i + 1));
  if (!host || !Number.isInteger(port)) return undefined;
  const t = typeof tls === 'object' && tls ? tls : undefined;
  const servername = t?.serverNameOverride ?? (isIP(host) ? undefined : host);
  const outcome = await new Promise<{ code?: string; message?: string; secure?: boolean; closedAfterHandshake?: boolean }>((resolve) => {
    const sock = connect({
      host,
      port,
      ...(servername ? { servername } : {}),
      ALPNProtocols: ['h2'],
      ...(t?.serverRootCACertificate ? { ca: Buffer.from(t.serverRootCACertificate) } : {}),
      ...(t?.clientCertPair ? { cert: Buffer.from(t.clientCertPair.crt), key: Buffer.from(t.clientCertPair.key) } : {}),
      // Without a name to check, Node would compare the certificate with the IP; the SDK does too.
      ...(servername ? {} : { checkServerIdentity: () => undefined }),
    });
    let handshaken = false;
    const done = (r: { code?: string; message?: string; secure?: boolean; closedAfterHandshake?: boolean }) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done({ secure: sock.encrypted && !sock.destroyed }), timeoutMs);
    // TLS 1.3: a server refuses a client certificate after the handshake, on the first read.
    sock.once('secureConnect', () => {
      handshaken = true;
      sock.resume(); // read, or the alert never surfaces
      setTimeout(() => done({ secure: true }), 500);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => done({ code: err.code, message: err.message }));
    // A server that checks client certificates after the handshake (Node's does) just hangs up.
    sock.once('end', () => done(handshaken ? { closedAfterHandshake: true } : { code: 'ECONNRESET', message: 'closed' }));
  });
  const c = outcome.code ?? '';
  const m = outcome.message ?? '';
  const untrusted = /SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED|CERT_HAS_EXPIRED|ERR_TLS_CERT_ALTNAME_INVALID/.test(c);
  if ((outcome.secure || untrusted) && !tls) return 'the endpoint speaks TLS and this connection does not: turn TLS on in the profile ([profile.NAME.tls], or TEMPORAL_TLS=true), or set an API key';
  if (outcome.secure) return undefined;
  if (outcome.closedAfterHandshake) {
    return t?.clientCertPair
      ? 'the server hung up right after the TLS handshake: it refused the client certificate — check that client_cert_path is signed by a CA the server trusts for clients, has not expired, and matches client_key_path'
      : 'the server hung up right after the TLS handshake: it wants a client certificate (mTLS) — set client_cert_path and client_key_path in the profile\'s tls section';
  }
  if (/CERTIFICATE_REQUIRED/.test(c) || /certificate required/i.test(m)) {
    return t?.clientCertPair
      ? 'the server asks for a client certificate and did not accept this one'
      : 'the server requires a client certificate (mTLS) and the profile gives none: set client_cert_path and client_key_path in its tls section';
  }
  if (/UNKNOWN_CA|BAD_CERTIFICATE|UNSUPPORTED_CERTIFICATE|CERTIFICATE_UNKNOWN|DECRYPT_ERROR/.test(c)) {
    return `the server refused the client certificate (${m.replace(/^.*alert /, 'alert ').trim()}): it is not signed by a CA the server trusts for clients, or has expired — check client_cert_path and client_key_path`;
  }
  if (c === 'CERT_HAS_EXPIRED') return 'the server\'s certificate has expired';
  if (c === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the server's certificate is not for ${servername ?? host} (${m}): set server_name in the profile's tls section to a name it carries`;
  if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED/.test(c)) {
    return `the server's certificate is not signed by a CA this machine trusts (${c}): set server_ca_cert_path in the profile's tls section to its CA`;
  }
  if (tls && /WRONG_VERSION_NUMBER|EPROTO|packet length too long/i.test(c + m)) return 'TLS is on in the profile, and the endpoint does not speak TLS: turn TLS off for this address, or use its TLS port';
  return undefined;
}
