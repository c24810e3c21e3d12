/** Which endpoints go unverified, and how a sandbox endpoint inherits the site's; pure (workflows use it). */

import type { EndpointTls } from '../providers/tls.js';

/**
 * A drill sandbox endpoint over the site's: what it leaves out (login, caFile) is the site's. A pin
 * or `insecure` never carries over: each belongs to one certificate, and is said per endpoint.
 */
export function sandboxOver<T extends EndpointTls>(site: T, sandbox: Partial<T>): T {
  const given = Object.fromEntries(Object.entries(sandbox).filter(([, v]) => v !== undefined)) as Partial<T>;
  return { ...site, insecure: undefined, certFingerprint: undefined, ...given };
}

/**
 * The config keys of the endpoints a coordinated backup of this site talks to whose certificate
 * is not checked (insecure: true); the set's manifest records them.
 */
export function insecureBackupEndpoints(config: { vcenter: EndpointTls; nsx: EndpointTls; iksClusters: unknown[] }, ibm?: EndpointTls): string[] {
  return [
    ...(config.vcenter.insecure ? ['vcenter'] : []),
    ...(config.nsx.insecure ? ['nsx'] : []),
    ...(config.iksClusters.length && ibm?.insecure ? ['ibmCloud'] : []),
  ];
}
