import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConnection } from '../../src/temporal/connection.js';

const dir = mkdtempSync(join(tmpdir(), 'sddc-envconfig-'));
const toml = join(dir, 'temporal.toml');
writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
writeFileSync(
  toml,
  `[profile.cloud]\naddress = "ops.a1b2c.tmprl.cloud:7233"\nnamespace = "ops.a1b2c"\napi_key = "the-api-key"\n` +
    `[profile.mtls]\naddress = "temporal.internal:7233"\n[profile.mtls.tls]\nserver_ca_cert_path = "${join(dir, 'ca.pem')}"\nserver_name = "temporal.internal"\n`,
);
const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('where Temporal is, from envconfig profiles', () => {
  it('an API key profile turns TLS on and carries the key', () => {
    process.env.TEMPORAL_CONFIG_FILE = toml;
    const r = resolveConnection({ profile: 'cloud' });
    expect(r.options.address).toBe('ops.a1b2c.tmprl.cloud:7233');
    expect(r.namespace).toBe('ops.a1b2c');
    expect(r.options.apiKey).toBe('the-api-key');
    expect(r.options.tls).toBeTruthy();
    expect(r.profile).toBe('cloud');
  });

  it('a TLS profile gives the CA and server name; TEMPORAL_PROFILE picks it when no flag does', () => {
    process.env.TEMPORAL_CONFIG_FILE = toml;
    process.env.TEMPORAL_PROFILE = 'mtls';
    const r = resolveConnection({});
    expect(r.options.address).toBe('temporal.internal:7233');
    const tls = r.options.tls as { serverNameOverride?: string; serverRootCACertificate?: Uint8Array };
    expect(tls.serverNameOverride).toBe('temporal.internal');
    expect(Buffer.from(tls.serverRootCACertificate!).toString()).toContain('BEGIN CERTIFICATE');
  });

  it('flags beat the config file, which beats the profile; an empty TEMPORAL_ADDRESS is no address', () => {
    process.env.TEMPORAL_CONFIG_FILE = toml;
    process.env.TEMPORAL_ADDRESS = '';
    expect(resolveConnection({ profile: 'mtls' }).options.address).toBe('temporal.internal:7233');
    expect(resolveConnection({ profile: 'mtls', configAddress: 'from-config:7233' }).options.address).toBe('from-config:7233');
    expect(resolveConnection({ profile: 'mtls', configAddress: 'from-config:7233', address: 'flag:7233' }).options.address).toBe('flag:7233');
    process.env.TEMPORAL_ADDRESS = 'env:7233';
    expect(resolveConnection({ profile: 'mtls' }).options.address).toBe('env:7233');
  });
});
