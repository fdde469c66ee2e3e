import { Decimal, type ExactNumber } from '../records/decimal.js';

/** Adds amounts into a running total, field by field: merging a group's shards, or a transaction's deltas. */
export function addAmounts(total: Map<string, Decimal>, amounts: Iterable<[string, Decimal]>): void {
  for (const [field, amount] of amounts) total.set(field, (total.get(field) ?? Decimal.ZERO).add(amount));
}

/** What a reader sees of a group: its fields as exact JS numbers, or nothing when every field sums to zero. */
export function sumRowValue(fields: ReadonlyMap<string, Decimal>): Record<string, ExactNumber> | undefined {
  if ([...fields.values()].every((amount) => amount.isZero)) return undefined;
  return Object.fromEntries([...fields].map(([field, amount]) => [field, amount.toJS()]));
}

export function byKey<T>([a]: [string, T], [b]: [string, T]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
