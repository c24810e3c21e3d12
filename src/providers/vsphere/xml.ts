import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { AdmissionControlPolicySpec, ClusterConfigSpecEx, HostConnectSpec, MoRef } from './types.js';

/**
 * vim25 envelopes, built and parsed with fast-xml-parser. Every builder below writes its elements
 * in the XSD sequence order of its type: a real vCenter rejects out-of-order elements (the
 * simulator does not), so tests pin the serialized form of each request.
 */
type Node = Record<string, unknown>;

const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressBooleanAttributes: false });
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false, // names such as "1234" stay strings; numbers are read where they are numbers
  isArray: (name) => ['objects', 'propSet', 'ManagedObjectReference', 'selectSet'].includes(name),
});

/** Drops undefined members, keeping the order of the rest. */
function ordered(entries: [string, unknown][]): Node {
  const out: Node = {};
  for (const [k, v] of entries) if (v !== undefined) out[k] = v;
  return out;
}

export const moRef = (r: MoRef): Node => ({ '@_type': r.type, '#text': r.value });

export function hostConnectSpec(s: HostConnectSpec): Node {
  return ordered([
    ['hostName', s.hostName],
    ['port', s.port],
    ['sslThumbprint', s.sslThumbprint],
    ['userName', s.userName],
    ['password', s.password],
    ['force', s.force ?? false],
  ]);
}

function admissionPolicy(p: AdmissionControlPolicySpec): Node {
  switch (p.type) {
    case 'ClusterFailoverResourcesAdmissionControlPolicy':
      return ordered([
        ['@_xsi:type', p.type],
        ['cpuFailoverResourcesPercent', p.cpuFailoverResourcesPercent],
        ['memoryFailoverResourcesPercent', p.memoryFailoverResourcesPercent],
        ['failoverLevel', p.failoverLevel],
        ['autoComputePercentages', p.autoComputePercentages],
      ]);
    case 'ClusterFailoverLevelAdmissionControlPolicy':
      return ordered([['@_xsi:type', p.type], ['failoverLevel', p.failoverLevel]]);
    case 'ClusterFailoverHostAdmissionControlPolicy':
      return ordered([['@_xsi:type', p.type], ['failoverHosts', p.failoverHosts.map(moRef)]]);
  }
}

export function clusterConfigSpecEx(s: ClusterConfigSpecEx): Node {
  const das = s.dasConfig;
  const drs = s.drsConfig;
  return ordered([
    ['@_xsi:type', 'ClusterConfigSpecEx'],
    [
      'dasConfig',
      das &&
        ordered([
          ['enabled', das.enabled],
          ['failoverLevel', das.failoverLevel],
          ['admissionControlPolicy', das.admissionControlPolicy && admissionPolicy(das.admissionControlPolicy)],
          ['admissionControlEnabled', das.admissionControlEnabled],
        ]),
    ],
    ['drsConfig', drs && ordered([['enabled', drs.enabled], ['defaultVmBehavior', drs.defaultVmBehavior]])],
  ]);
}

export interface Traversal {
  name: string;
  type: string;
  path: string;
  next: string[];
}

/** PropertyFilterSpec: propSet (type, pathSet), objectSet (obj, skip, selectSet of TraversalSpecs). */
export function propertyFilterSpec(o: { types: { type: string; paths: string[] }[]; from: MoRef; skip: boolean; traversals: Traversal[] }): Node {
  return ordered([
    ['propSet', o.types.map((t) => ordered([['type', t.type], ['pathSet', t.paths]]))],
    [
      'objectSet',
      ordered([
        ['obj', moRef(o.from)],
        ['skip', o.skip],
        [
          'selectSet',
          o.traversals.length
            ? o.traversals.map((t) => ordered([['@_xsi:type', 'TraversalSpec'], ['name', t.name], ['type', t.type], ['path', t.path], ['skip', false], ['selectSet', t.next.length ? t.next.map((n) => ({ name: n })) : undefined]]))
            : undefined,
        ],
      ]),
    ],
  ]);
}

/** The whole request: `_this` first, then the method's arguments in their order. */
export function envelope(method: string, self: MoRef, args: [string, unknown][] = []): string {
  return builder.build({
    '?xml': { '@_version': '1.0', '@_encoding': 'UTF-8' },
    'soapenv:Envelope': {
      '@_xmlns:soapenv': 'http://schemas.xmlsoap.org/soap/envelope/',
      '@_xmlns:xsd': 'http://www.w3.org/2001/XMLSchema',
      '@_xmlns:xsi': 'http://www.w3.org/2001/XMLSchema-instance',
      'soapenv:Body': { [method]: ordered([['@_xmlns', 'urn:vim25'], ['_this', moRef(self)], ...args]) },
    },
  }) as string;
}

export interface Parsed {
  /** The method's response element (returnval inside), when not a fault. */
  response?: Node;
  fault?: { type: string; message: string; detail: Node };
}

/** Reads a response envelope: the method's response, or its fault (type from xsi:type or the element name). */
export function parseEnvelope(method: string, xml: string): Parsed {
  const doc = parser.parse(xml) as Node;
  const body = (doc.Envelope as Node | undefined)?.Body as Node | undefined;
  if (!body) throw new Error(`not a SOAP envelope: ${xml.slice(0, 200)}`);
  const fault = body.Fault as Node | undefined;
  if (fault) {
    const detail = (fault.detail ?? {}) as Node;
    const key = Object.keys(detail).find((k) => !k.startsWith('@_'));
    const inner = (key ? detail[key] : {}) as Node;
    const type = (typeof inner === 'object' && inner && (inner['@_type'] as string)) || key?.replace(/Fault$/, '') || 'SystemError';
    return { fault: { type, message: String(fault.faultstring ?? '').trim(), detail: typeof inner === 'object' && inner ? inner : {} } };
  }
  return { response: (body[`${method}Response`] ?? {}) as Node };
}

/** Text of an element that may carry attributes (`{ '#text': … }`) or not. */
export function text(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') return (v as Node)['#text'] === undefined ? undefined : String((v as Node)['#text']);
  return String(v);
}

export function toMoRef(v: unknown): MoRef {
  const n = v as Node;
  return { type: String(n['@_type']), value: String(n['#text']) };
}
