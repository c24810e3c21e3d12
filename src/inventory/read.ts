import { createHash } from 'node:crypto';
import type { InventoryItem } from '../domain/inventory.js';
import type { NsxClient } from '../providers/nsx/client.js';
import type { VcenterClient } from '../providers/vcenter/client.js';
import type { NsxvClient } from '../providers/nsxv/client.js';

/** Canonical JSON (keys sorted) so that the same object digests the same wherever it was read. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v ?? null);
}

/** One object: the fields given are the ones compared (what a restore must bring back), nothing volatile. */
export function inventoryItem(kind: string, id: string, name: string, fields: Record<string, unknown>): InventoryItem {
  return { kind, id, name, digest: createHash('sha256').update(canonical(fields)).digest('hex').slice(0, 32) };
}

const INFRA = '/policy/api/v1/infra';

/** NSX-T / NSX 4.x, Policy API: segments, tier-0 and tier-1 gateways, DFW policies and their rules. */
export async function readNsxTInventory(c: NsxClient): Promise<InventoryItem[]> {
  type Named = { id: string; display_name?: string };
  const [segments, tier0s, tier1s, policies] = await Promise.all([
    c.policyList<Named & { subnets?: unknown; connectivity_path?: string }>(`${INFRA}/segments`),
    c.policyList<Named & { ha_mode?: string }>(`${INFRA}/tier-0s`),
    c.policyList<Named & { tier0_path?: string }>(`${INFRA}/tier-1s`),
    c.policyList<Named & { category?: string }>(`${INFRA}/domains/default/security-policies`),
  ]);
  const items = [
    ...segments.map((s) => inventoryItem('segment', s.id, s.display_name ?? s.id, { display_name: s.display_name, subnets: s.subnets, connectivity_path: s.connectivity_path })),
    ...tier0s.map((g) => inventoryItem('tier-0 gateway', g.id, g.display_name ?? g.id, { display_name: g.display_name, ha_mode: g.ha_mode })),
    ...tier1s.map((g) => inventoryItem('tier-1 gateway', g.id, g.display_name ?? g.id, { display_name: g.display_name, tier0_path: g.tier0_path })),
    ...policies.map((p) => inventoryItem('firewall policy', p.id, p.display_name ?? p.id, { display_name: p.display_name, category: p.category })),
  ];
  for (const p of policies) {
    type Rule = Named & { action?: string; source_groups?: string[]; destination_groups?: string[]; services?: string[]; sequence_number?: number };
    for (const r of await c.policyList<Rule>(`${INFRA}/domains/default/security-policies/${encodeURIComponent(p.id)}/rules`)) {
      items.push(
        inventoryItem('firewall rule', `${p.id}/${r.id}`, r.display_name ?? r.id, {
          display_name: r.display_name,
          action: r.action,
          source_groups: r.source_groups,
          destination_groups: r.destination_groups,
          services: r.services,
          sequence_number: r.sequence_number,
        }),
      );
    }
  }
  return items;
}

/** The vCenter appliance's inventory through the vSphere Automation API: datacenters, clusters, hosts. */
export async function readVcenterInventory(c: VcenterClient): Promise<InventoryItem[]> {
  const [dcs, clusters, hosts] = await Promise.all([
    c.listInventory<{ datacenter: string; name: string }>('datacenter'),
    c.listInventory<{ cluster: string; name: string; ha_enabled?: boolean; drs_enabled?: boolean }>('cluster'),
    c.listInventory<{ host: string; name: string; connection_state?: string }>('host'),
  ]);
  return [
    ...dcs.map((d) => inventoryItem('datacenter', d.datacenter, d.name, { name: d.name })),
    ...clusters.map((x) => inventoryItem('cluster', x.cluster, x.name, { name: x.name, ha_enabled: x.ha_enabled, drs_enabled: x.drs_enabled })),
    ...hosts.map((h) => inventoryItem('host', h.host, h.name, { name: h.name, connection_state: h.connection_state })),
  ];
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const values = (o: { value?: unknown }[] | undefined) => list(o).map((x) => String(x.value)).sort();

/** NSX for vSphere: edges (ESG and DLR), VXLAN logical switches (virtual wires) and distributed firewall rules. */
export async function readNsxvInventory(c: NsxvClient): Promise<InventoryItem[]> {
  const [edges, wires, fw] = await Promise.all([c.getXml('/api/4.0/edges'), c.getXml('/api/2.0/vdn/virtualwires'), c.getXml('/api/4.0/firewall/globalroot-0/config')]);
  const items: InventoryItem[] = [];
  for (const e of list<any>(edges.pagedEdgeList?.edgePage?.edgeSummary)) {
    items.push(inventoryItem(e.edgeType === 'distributedRouter' ? 'distributed logical router' : 'edge services gateway', String(e.objectId), String(e.name), { name: e.name, edgeType: e.edgeType }));
  }
  for (const w of list<any>(wires.virtualWires?.dataPage?.virtualWire)) {
    items.push(inventoryItem('logical switch', String(w.objectId), String(w.name), { name: w.name, vdnId: String(w.vdnId), controlPlaneMode: w.controlPlaneMode }));
  }
  for (const s of list<any>(fw.firewallConfiguration?.layer3Sections?.section)) {
    items.push(inventoryItem('firewall section', String(s['@_id']), String(s['@_name']), { name: s['@_name'] }));
    for (const r of list<any>(s.rule)) {
      items.push(
        inventoryItem('firewall rule', `${s['@_id']}/${r['@_id']}`, String(r.name), {
          name: r.name,
          action: r.action,
          disabled: r['@_disabled'],
          sources: values(r.sources?.source),
          destinations: values(r.destinations?.destination),
          services: values(r.services?.service),
        }),
      );
    }
  }
  return items;
}
