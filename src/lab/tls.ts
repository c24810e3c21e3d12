/**
 * Certificates made in JavaScript (no openssl at run time): a CA, and server or client
 * certificates it signs. RSA 2048 keys from Node's crypto, certificates built and signed with
 * node-forge; keys are PKCS#8 PEM, which Node's tls and the Temporal core (rustls) both read.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import forge from 'node-forge';

export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

export interface CertRequest {
  commonName: string;
  /** subjectAltName DNS names. */
  dns?: string[];
  /** subjectAltName IP addresses (v4 or v6). */
  ips?: string[];
  /** Default: an hour ago (clocks differ a little). */
  notBefore?: Date;
  /** Default: a year after notBefore. */
  notAfter?: Date;
  /** server: extendedKeyUsage serverAuth; client: clientAuth (mTLS). */
  usage: 'server' | 'client';
}

const DAY_MS = 24 * 3600_000;

async function newKey(): Promise<{ forgeKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; keyPem: string }> {
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(keyPem);
  return { forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), keyPem };
}

function skeleton(publicKey: forge.pki.rsa.PublicKey, notBefore: Date, notAfter: Date): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive (high bit clear) and unique: verifiers reject negative serials.
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  cert.serialNumber = serial.toString('hex');
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  return cert;
}

/** A self-signed CA (ten years) for signing the certificates below. */
export async function createCa(commonName: string): Promise<CertAndKey> {
  const { forgeKey, publicKey, keyPem } = await newKey();
  const now = Date.now();
  const cert = skeleton(publicKey, new Date(now - 3600_000), new Date(now + 3650 * DAY_MS));
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forgeKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** A certificate signed by `ca`: for a server (with its names in subjectAltName) or a client. */
export async function issueCert(ca: CertAndKey, o: CertRequest): Promise<CertAndKey> {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const { publicKey, keyPem } = await newKey();
  const notBefore = o.notBefore ?? new Date(Date.now() - 3600_000);
  const notAfter = o.notAfter ?? new Date(notBefore.getTime() + 365 * DAY_MS);
  const cert = skeleton(publicKey, notBefore, notAfter);
  cert.setSubject([{ name: 'commonName', value: o.commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [...(o.dns ?? []).map((value) => ({ type: 2, value })), ...(o.ips ?? []).map((ip) => ({ type: 7, ip }))];
  if (o.usage === 'server' && !altNames.length) {
    altNames.push(isIP(o.commonName) ? { type: 7, ip: o.commonName } : { type: 2, value: o.commonName });
  }
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', ...(o.usage === 'server' ? { serverAuth: true } : { clientAuth: true }) },
    ...(altNames.length ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** What the lab serves HTTPS with, and the CA file its config names. */
export interface LabTls {
  /** PEM of the lab's CA: every endpoint's caFile in the lab config. */
  caFile: string;
  /** The certificate every simulator serves: 127.0.0.1, ::1 and localhost. */
  server: CertAndKey;
}

/**
 * The lab's CA lives in <labDir>/tls/ and is made once: a restarted lab keeps it, so whatever an
 * operator set to trust it (a browser, a caFile elsewhere) still works. The server certificate is
 * issued anew on each start. A CA given (tests) is written there instead.
 */
export async function labTls(labDir: string, given?: CertAndKey): Promise<LabTls> {
  const dir = join(labDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, 'ca.pem');
  const caKeyFile = join(dir, 'ca-key.pem');
  let ca: CertAndKey;
  if (given) {
    ca = given;
    writeFileSync(caKeyFile, ca.keyPem, { mode: 0o600 });
    writeFileSync(caFile, ca.certPem);
  } else if (existsSync(caFile) && existsSync(caKeyFile) && stillValid(readFileSync(caFile, 'utf8'))) {
    ca = { certPem: readFileSync(caFile, 'utf8'), keyPem: readFileSync(caKeyFile, 'utf8') };
  } else {
    ca = await createCa('sddc-ops lab CA');
    writeFileSync(caKeyFile, ca.keyPem, { mode: 0o600 });
    writeFileSync(caFile, ca.certPem);
  }
  const server = await issueCert(ca, { commonName: 'sddc-ops lab', dns: ['localhost'], ips: ['127.0.0.1', '::1'], usage: 'server' });
  writeFileSync(join(dir, 'server.pem'), server.certPem);
  writeFileSync(join(dir, 'server-key.pem'), server.keyPem, { mode: 0o600 });
  return { caFile, server };
}

/** Valid for at least another month (a lab CA older than that is replaced). */
function stillValid(pem: string): boolean {
  try {
    return Date.parse(new X509Certificate(pem).validTo) > Date.now() + 30 * DAY_MS;
  } catch {
    return false;
  }
}
