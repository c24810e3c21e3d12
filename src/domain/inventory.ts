/**
 * What a backup should hold, recorded when it is taken, and compared with what a restore drill
 * brought back. Each configuration object is kept as its kind, id, name and a digest of the fields
 * that matter, so a manifest stays small and a difference can still be named.
 */
export interface InventoryItem {
  /** e.g. "segment", "firewall rule", "cluster". */
  kind: string;
  id: string;
  name: string;
  digest: string;
}

export interface CapturedInventory {
  at: string;
  nsx: InventoryItem[];
  vcenter: InventoryItem[];
}

export interface InventoryDifference {
  product: 'nsx' | 'vcenter';
  kind: string;
  id: string;
  name: string;
  change: 'missing after restore' | 'not in the backup when captured' | 'changed';
}

const key = (i: InventoryItem) => `${i.kind}\u0000${i.id}`;

export function compareInventory(captured: Pick<CapturedInventory, 'nsx' | 'vcenter'>, restored: Pick<CapturedInventory, 'nsx' | 'vcenter'>): InventoryDifference[] {
  const out: InventoryDifference[] = [];
  for (const product of ['nsx', 'vcenter'] as const) {
    const before = new Map(captured[product].map((i) => [key(i), i]));
    const after = new Map(restored[product].map((i) => [key(i), i]));
    for (const [k, b] of before) {
      const a = after.get(k);
      if (!a) out.push({ product, kind: b.kind, id: b.id, name: b.name, change: 'missing after restore' });
      else if (a.digest !== b.digest) out.push({ product, kind: b.kind, id: b.id, name: b.name, change: 'changed' });
    }
    for (const [k, a] of after) if (!before.has(k)) out.push({ product, kind: a.kind, id: a.id, name: a.name, change: 'not in the backup when captured' });
  }
  return out;
}

export function describeDifference(d: InventoryDifference): string {
  return `${d.product === 'nsx' ? 'NSX' : 'vCenter'} ${d.kind} ${d.name}${d.name !== d.id ? ` (${d.id})` : ''}: ${d.change}`;
}

/** Counts per kind, for messages ("4 segments, 3 firewall rules"). */
export function inventoryCounts(items: InventoryItem[]): string {
  const n = new Map<string, number>();
  for (const i of items) n.set(i.kind, (n.get(i.kind) ?? 0) + 1);
  const plural = (k: string) => (/(s|sh|ch|x)$/.test(k) ? `${k}es` : `${k}s`);
  return [...n].map(([k, c]) => `${c} ${c === 1 ? k : plural(k)}`).join(', ') || 'nothing';
}
