import type { AttributeValue, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import type { KeyWrite } from '../../src/projection/ports.js';
import { addAmounts } from '../../src/projection/sum-rows.js';
import type { Decimal } from '../../src/records/decimal.js';
import { itemSize } from './item-size.js';
import { ATTR, shardSortKey, sumRowPartition, type SdkItem, type TableNames } from './layout.js';

export const TRANSACT_MAX_ITEMS = 100;
export const TRANSACT_MAX_BYTES = 4 * 1024 * 1024;
/** Left under the 4 MB request limit for the request's own envelope and expressions. */
export const TRANSACT_BYTE_BUDGET = Math.floor(TRANSACT_MAX_BYTES * 0.9);

/** The part of one key's write that must land atomically, encoded: it goes into one transaction whole, never split. */
export interface Unit {
  readonly index: number;
  readonly write: KeyWrite;
  /** The checkpoint item, when it is written. */
  readonly checkpoint: SdkItem | undefined;
  /** The checkpoint item's put and the view rows whose entries it keeps, each with the generation it serves. */
  readonly items: readonly { readonly generation: string | undefined; readonly item: TransactWriteItem; readonly bytes: number }[];
  /** Every row the unit touches, sum groups by generation and group (their shard is chosen per transaction). */
  readonly rows: ReadonlySet<string>;
  readonly bytes: number;
}

/** A transaction's items; for each, the unit that owns it (-1 for a shared sum row) and the generation it serves. */
export interface Transaction {
  readonly items: TransactWriteItem[];
  readonly owners: number[];
  /** `undefined` for a checkpoint, which serves every projection of its key. */
  readonly generations: (string | undefined)[];
}

/**
 * The items of one transaction: each unit's own items (conditional on the revisions read), then one `ADD`
 * per sum group, the deltas of every unit merged. A hot group's shard is chosen per transaction.
 */
export function transactionOf(tables: TableNames, units: readonly Unit[], random: () => number): Transaction {
  const items: TransactWriteItem[] = [];
  const owners: number[] = [];
  const generations: (string | undefined)[] = [];
  const sums = new Map<string, { generation: string; group: string; shards: number; amounts: Map<string, Decimal> }>();
  units.forEach((unit, position) => {
    for (const entry of unit.items) {
      items.push(entry.item);
      owners.push(position);
      generations.push(entry.generation);
    }
    for (const sum of unit.write.sums) {
      const id = sumRowId(sum.generation, sum.group);
      let merged = sums.get(id);
      if (merged === undefined) {
        merged = { generation: sum.generation, group: sum.group, shards: sum.shards, amounts: new Map() };
        sums.set(id, merged);
      }
      addAmounts(merged.amounts, sum.amounts);
    }
  });
  for (const sum of sums.values()) {
    const amounts = [...sum.amounts].filter(([, amount]) => !amount.isZero);
    if (amounts.length === 0) continue;
    const shard = sum.shards > 1 ? Math.floor(random() * sum.shards) : 0;
    items.push({ Update: sumUpdate(tables, sum.generation, sum.group, shard, amounts) });
    owners.push(-1);
    generations.push(sum.generation);
  }
  return { items, owners, generations };
}

function sumUpdate(tables: TableNames, generation: string, group: string, shard: number, amounts: readonly [string, Decimal][]): NonNullable<TransactWriteItem['Update']> {
  const names: Record<string, string> = { '#g': ATTR.generation, '#grp': ATTR.group };
  const values: Record<string, AttributeValue> = { ':g': { S: generation }, ':grp': { S: group } };
  const additions = amounts.map(([field, amount], position) => {
    names[`#f${position}`] = field;
    values[`:a${position}`] = { N: amount.toString() };
    return `#f${position} :a${position}`;
  });
  return {
    TableName: tables.readModels,
    Key: { [ATTR.pk]: { S: sumRowPartition(generation, group) }, [ATTR.sk]: { S: shardSortKey(shard) } },
    UpdateExpression: `SET #g = :g, #grp = :grp ADD ${additions.join(', ')}`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

export function sumRowId(generation: string, group: string): string {
  return `sum\u0000${generation}\u0000${group}`;
}

export function transactItemSize(item: TransactWriteItem): number {
  if (item.Put?.Item !== undefined) return itemSize(item.Put.Item);
  if (item.Delete?.Key !== undefined) return itemSize(item.Delete.Key);
  if (item.Update !== undefined) return itemSize({ ...item.Update.Key, ...(item.Update.ExpressionAttributeValues ?? {}) });
  return 0;
}

/**
 * Packs units into transactions of at most 100 distinct items. Units are ordered by the sum groups they
 * touch, so keys of one group share a transaction and its single `ADD`. Where more than one transaction is
 * needed, they are evened out: as many transactions, of about the same size, finish sooner side by side
 * (a transaction's latency grows with its items) and cost the same.
 */
export function pack(units: readonly Unit[]): Unit[][] {
  const signatures = new Map(units.map((unit) => [unit, [...unit.rows].filter((row) => row.startsWith('sum')).sort().join('\u0001')]));
  const ordered = [...units].sort((a, b) => {
    const left = signatures.get(a) ?? '';
    const right = signatures.get(b) ?? '';
    return left < right ? -1 : left > right ? 1 : a.index - b.index;
  });
  const full = packUpTo(ordered, TRANSACT_MAX_ITEMS);
  if (full.transactions.length < 2) return full.transactions;
  const even = packUpTo(ordered, Math.min(TRANSACT_MAX_ITEMS, Math.ceil((full.items / full.transactions.length) * 1.05)));
  return even.transactions.length <= full.transactions.length && even.items <= full.items ? even.transactions : full.transactions;
}

function packUpTo(ordered: readonly Unit[], cap: number): { transactions: Unit[][]; items: number } {
  const transactions: Unit[][] = [];
  let current: Unit[] = [];
  let rows = new Set<string>();
  let bytes = 0;
  let items = 0;
  for (const unit of ordered) {
    const added = [...unit.rows].filter((row) => !rows.has(row)).length;
    if (current.length > 0 && (rows.size + added > cap || bytes + unit.bytes > TRANSACT_BYTE_BUDGET)) {
      transactions.push(current);
      items += rows.size;
      current = [];
      rows = new Set();
      bytes = 0;
    }
    current.push(unit);
    for (const row of unit.rows) rows.add(row);
    bytes += unit.bytes;
  }
  if (current.length > 0) transactions.push(current);
  return { transactions, items: items + rows.size };
}
