import { Decimal, type ExactNumber } from '../records/decimal.js';

/** Adds amounts into a running total, field by field: merging a group's shards, or a transaction's deltas. */
export function addAmounts(total: Map<string, Decimal>, amounts: Iterable<[string, Decimal]>): void {
  for (const [field, amount] of amounts) total.set(field, (total.get(field) ?? Decimal.ZERO).add(amount));
}

/**
 * What a reader sees of a group, in one canonical form: its non-zero fields as exact JS numbers, or nothing
 * when every field sums to zero. A stored zero depends on how records were split into batches (one batch
 * nets `+5 - 5` to no write at all, two batches ADD 5 then -5 and leave a 0 behind), so a zero is shown
 * the same as a field never written.
 */
export function sumRowValue(fields: ReadonlyMap<string, Decimal>): Record<string, ExactNumber> | undefined {
  const nonZero = [...fields].filter(([, amount]) => !amount.isZero);
  if (nonZero.length === 0) return undefined;
  return Object.fromEntries(nonZero.map(([field, amount]) => [field, amount.toJS()]));
}

export function byKey<T>([a]: [string, T], [b]: [string, T]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
