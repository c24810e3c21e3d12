import type { LabRequest, LabResponse } from './http.js';

/**
 * What an NSX-T manager holds and its backups carry: segments, tier-0 and tier-1 gateways, and
 * distributed firewall policies with their rules, in the Policy API's shapes
 * (/policy/api/v1/infra/...). The lab serves them read-write so a test can change the manager's
 * configuration the way an operator would, and a restore replaces them with the backup's.
 */
export interface NsxRule {
  id: string;
  display_name: string;
  action: 'ALLOW' | 'DROP' | 'REJECT';
  source_groups: string[];
  destination_groups: string[];
  services: string[];
  sequence_number: number;
}
export interface NsxSecurityPolicy {
  id: string;
  display_name: string;
  category: string;
  rules: NsxRule[];
}
export interface NsxConfigState {
  segments: { id: string; display_name: string; subnets: { gateway_address: string }[]; connectivity_path?: string }[];
  tier0s: { id: string; display_name: string; ha_mode: string }[];
  tier1s: { id: string; display_name: string; tier0_path?: string }[];
  policies: NsxSecurityPolicy[];
}

export function defaultNsxState(): NsxConfigState {
  return {
    tier0s: [{ id: 't0-edge', display_name: 'T0-Edge', ha_mode: 'ACTIVE_STANDBY' }],
    tier1s: [
      { id: 't1-apps', display_name: 'T1-Apps', tier0_path: '/infra/tier-0s/t0-edge' },
      { id: 't1-mgmt', display_name: 'T1-Mgmt', tier0_path: '/infra/tier-0s/t0-edge' },
    ],
    segments: [
      { id: 'seg-web', display_name: 'web', subnets: [{ gateway_address: '10.10.10.1/24' }], connectivity_path: '/infra/tier-1s/t1-apps' },
      { id: 'seg-app', display_name: 'app', subnets: [{ gateway_address: '10.10.20.1/24' }], connectivity_path: '/infra/tier-1s/t1-apps' },
      { id: 'seg-db', display_name: 'db', subnets: [{ gateway_address: '10.10.30.1/24' }], connectivity_path: '/infra/tier-1s/t1-apps' },
      { id: 'seg-mgmt', display_name: 'mgmt', subnets: [{ gateway_address: '10.0.0.1/24' }], connectivity_path: '/infra/tier-1s/t1-mgmt' },
    ],
    policies: [
      {
        id: 'three-tier',
        display_name: 'Three-tier app',
        category: 'Application',
        rules: [
          { id: 'web-to-app', display_name: 'web to app', action: 'ALLOW', source_groups: ['/infra/domains/default/groups/web'], destination_groups: ['/infra/domains/default/groups/app'], services: ['/infra/services/HTTPS'], sequence_number: 10 },
          { id: 'app-to-db', display_name: 'app to db', action: 'ALLOW', source_groups: ['/infra/domains/default/groups/app'], destination_groups: ['/infra/domains/default/groups/db'], services: ['/infra/services/MySQL'], sequence_number: 20 },
          { id: 'deny-rest', display_name: 'deny the rest', action: 'DROP', source_groups: ['ANY'], destination_groups: ['ANY'], services: ['ANY'], sequence_number: 1000 },
        ],
      },
    ],
  };
}

const POLICY = '/policy/api/v1/infra';
const list = (results: unknown[]): LabResponse => ({ status: 200, body: { results, result_count: results.length } });
const notFound = (path: string): LabResponse => ({ status: 404, body: { httpStatus: 'NOT_FOUND', error_code: 500012, module_name: 'Policy', error_message: `The path=[${path}] is invalid` } });

/** The Policy API routes over `state` (GET lists and objects, PATCH creates or merges, DELETE); undefined when the path is not one of them. */
export function policyApi(state: () => NsxConfigState, req: LabRequest): LabResponse | undefined {
  if (!req.path.startsWith(`${POLICY}/`)) return undefined;
  const s = state();
  const rest = req.path.slice(POLICY.length + 1).split('/').map(decodeURIComponent);
  const body = (req.body ?? {}) as Record<string, unknown>;
  const collection = <T extends { id: string }>(items: T[], id: string | undefined, make: (id: string) => T): LabResponse => {
    if (!id) return req.method === 'GET' ? list(items) : notFound(req.path);
    const i = items.findIndex((x) => x.id === id);
    if (req.method === 'GET') return i < 0 ? notFound(req.path) : { status: 200, body: items[i] };
    if (req.method === 'DELETE') {
      if (i >= 0) items.splice(i, 1);
      return { status: 200 };
    }
    if (req.method === 'PATCH' || req.method === 'PUT') {
      const merged = { ...(i >= 0 ? items[i]! : make(id)), ...body, id } as T;
      if (i >= 0) items[i] = merged;
      else items.push(merged);
      return { status: 200, body: merged };
    }
    return notFound(req.path);
  };
  if (rest[0] === 'segments' && rest.length <= 2) return collection(s.segments, rest[1], (id) => ({ id, display_name: id, subnets: [] }));
  if (rest[0] === 'tier-0s' && rest.length <= 2) return collection(s.tier0s, rest[1], (id) => ({ id, display_name: id, ha_mode: 'ACTIVE_STANDBY' }));
  if (rest[0] === 'tier-1s' && rest.length <= 2) return collection(s.tier1s, rest[1], (id) => ({ id, display_name: id }));
  if (rest[0] === 'domains' && rest[1] === 'default' && rest[2] === 'security-policies') {
    if (rest.length <= 4) {
      // A policy's list and object leave its rules out; they are read under .../rules.
      const r = collection(s.policies, rest[3], (id) => ({ id, display_name: id, category: 'Application', rules: [] }));
      const strip = (p: NsxSecurityPolicy) => ({ id: p.id, display_name: p.display_name, category: p.category });
      if (r.status === 200 && req.method === 'GET' && !rest[3]) return list(s.policies.map(strip));
      if (r.status === 200 && r.body && typeof r.body === 'object' && 'rules' in (r.body as object)) return { status: 200, body: strip(r.body as NsxSecurityPolicy) };
      return r;
    }
    const policy = s.policies.find((p) => p.id === rest[3]);
    if (!policy || rest[4] !== 'rules' || rest.length > 6) return notFound(req.path);
    return collection(policy.rules, rest[5], (id) => ({ id, display_name: id, action: 'ALLOW', source_groups: ['ANY'], destination_groups: ['ANY'], services: ['ANY'], sequence_number: 0 }));
  }
  return notFound(req.path);
}
