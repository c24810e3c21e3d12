import { describe, expect, it } from 'vitest';
import { insecureBackupEndpoints, sandboxOver } from '../../src/domain/endpoint-tls.js';

const PIN = 'AB:'.repeat(31) + 'AB';
const site = { url: 'https://vc.example.com', user: 'u', password: 'env:P', caFile: '/ca/site.pem', insecure: true, certFingerprint: PIN as string | string[] };

describe('a drill sandbox endpoint over the site\'s', () => {
  it('takes the site\'s login and caFile when it gives none, but never its pin or insecure', () => {
    expect(sandboxOver(site, { url: 'https://sandbox.example.com' })).toEqual({ ...site, url: 'https://sandbox.example.com', insecure: undefined, certFingerprint: undefined });
  });

  it('keeps what the sandbox says for itself', () => {
    const own = { url: 'https://sandbox.example.com', user: 's', caFile: '/ca/sandbox.pem', insecure: true, certFingerprint: [PIN] };
    expect(sandboxOver(site, { ...own, password: undefined })).toEqual({ ...own, password: 'env:P' });
  });
});

describe('the endpoints a backup set records as unchecked', () => {
  const cfg = (o: { vc?: boolean; nsx?: boolean; clusters?: number }) => ({ vcenter: { insecure: o.vc }, nsx: { insecure: o.nsx }, iksClusters: Array.from({ length: o.clusters ?? 0 }) });

  it('names each insecure endpoint by its config key, IBM Cloud only when the site links IKS clusters', () => {
    expect(insecureBackupEndpoints(cfg({}))).toEqual([]);
    expect(insecureBackupEndpoints(cfg({ vc: true, nsx: true, clusters: 1 }), { insecure: true })).toEqual(['vcenter', 'nsx', 'ibmCloud']);
    expect(insecureBackupEndpoints(cfg({ nsx: true }), { insecure: true })).toEqual(['nsx']);
    expect(insecureBackupEndpoints(cfg({ vc: false, clusters: 2 }), { insecure: false })).toEqual([]);
  });
});
