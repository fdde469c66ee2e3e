import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SourceTable, type PlainItem } from '../../adapters/dynamodb/source-table.js';
import { uniqueName } from './local-dynamodb.js';

/**
 * The CLI acceptance test's own source: an `Inventory` table keyed by SKU and warehouse (not the Orders
 * examples), its writes, and its read models computed straight from a scan with BigInt sums, sharing nothing
 * with streamfold's runtime.
 */
export async function inventoryTable(client: DynamoDBClient, prefix = 'Inventory'): Promise<{ table: SourceTable; streamArn: string }> {
  const table = new SourceTable(client, {
    name: uniqueName(prefix),
    partitionKey: 'sku',
    sortKey: 'warehouse',
    streamViewType: 'NEW_AND_OLD_IMAGES',
  });
  return { table, streamArn: await table.create() };
}

export type InventoryWrite =
  | { readonly type: 'put'; readonly item: PlainItem }
  | { readonly type: 'update'; readonly key: PlainItem; readonly changes: PlainItem }
  | { readonly type: 'delete'; readonly key: PlainItem };

const CATEGORIES = ['tools', 'garden', 'paint', 'lighting'];

/** A seeded mix of inserts, updates (quantity, category) and deletes; some items carry a binary photo. */
export function inventoryWrites(seed: number, count: number, skus = 30): InventoryWrite[] {
  let state = seed >>> 0;
  const next = (below: number): number => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state % below;
  };
  const live = new Set<string>();
  const writes: InventoryWrite[] = [];
  for (let index = 0; index < count; index += 1) {
    const key = { sku: `S-${next(skus)}`, warehouse: `W${next(3)}` };
    const id = `${key.sku}|${key.warehouse}`;
    const roll = next(10);
    if (!live.has(id) || roll < 2) {
      const photo = next(4) === 0 ? { photo: new Uint8Array([next(256), 0, 255, next(256)]) } : {};
      writes.push({ type: 'put', item: { ...key, category: CATEGORIES[next(CATEGORIES.length)], quantity: 1 + next(500), ...photo } });
      live.add(id);
    } else if (roll < 8) {
      const changes = next(3) === 0 ? { category: CATEGORIES[next(CATEGORIES.length)] } : { quantity: 1 + next(500) };
      writes.push({ type: 'update', key, changes });
    } else {
      writes.push({ type: 'delete', key });
      live.delete(id);
    }
  }
  return writes;
}

export async function applyWrites(table: SourceTable, writes: readonly InventoryWrite[]): Promise<void> {
  for (const write of writes) {
    if (write.type === 'put') await table.put(write.item);
    else if (write.type === 'update') await table.update(write.key, write.changes);
    else await table.delete(write.key);
  }
}

export interface DumpRow {
  readonly key: unknown;
  readonly value: Record<string, unknown>;
}

/** `units-per-category` (v1 by category, v2 by category and warehouse) as `dump` prints it, sorted by key. */
export function unitsTruth(items: readonly PlainItem[], version: 1 | 2 = 1): DumpRow[] {
  const groups = new Map<string, { units: bigint; lines: bigint }>();
  for (const item of items) {
    const group = version === 1 ? String(item.category) : `${String(item.category)}@${String(item.warehouse)}`;
    const total = groups.get(group) ?? { units: 0n, lines: 0n };
    groups.set(group, { units: total.units + BigInt(String(item.quantity)), lines: total.lines + 1n });
  }
  return [...groups]
    .map(([key, total]) => ({ key, value: { units: Number(total.units), lines: Number(total.lines) } }))
    .sort(byKey);
}

/** `stock-level`: each SKU line's category and quantity. */
export function stockTruth(items: readonly PlainItem[]): DumpRow[] {
  return items
    .map((item) => ({ key: { sku: item.sku, warehouse: item.warehouse }, value: { category: item.category, quantity: Number(item.quantity) } }))
    .sort(byKey);
}

/** Rows in one order, values with their fields in one order, to compare a dump with the truth. */
export function canonicalRows(rows: readonly unknown[]): DumpRow[] {
  return (rows as DumpRow[])
    .map((row) => ({ key: row.key, value: Object.fromEntries(Object.entries(row.value).sort(([a], [b]) => a.localeCompare(b))) }))
    .sort(byKey);
}

function byKey(a: DumpRow, b: DumpRow): number {
  const left = JSON.stringify(a.key);
  const right = JSON.stringify(b.key);
  return left < right ? -1 : left > right ? 1 : 0;
}
