import { expect } from 'vitest';
import { ordersDifferences, ordersTruth, type Difference } from '../../demo/orders-truth.js';
import { generationOf } from '../../src/projection/define.js';
import type { ReadModelReader } from '../../src/projection/ports.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { orderStatusCounts } from '../../projections/order-status-counts.js';
import { orderView } from '../../projections/order-view.js';

/** Every difference between the three example read models and a fold of the final table's items. */
export async function differencesFromTruth(
  reader: ReadModelReader,
  finalItems: readonly Record<string, unknown>[],
  version = 1,
): Promise<Difference[]> {
  const rows = async (projection: Parameters<typeof readAllRows>[1]) =>
    new Map(
      (await readAllRows(reader, projection, generationOf({ name: projection.name, version }))).map((row) => [
        keyOf(row.key),
        row.value,
      ]),
    );
  return ordersDifferences(
    { customerTotals: await rows(customerTotals), statusCounts: await rows(orderStatusCounts), orders: await rows(orderView) },
    ordersTruth(finalItems),
  );
}

export async function expectMatchesTruth(reader: ReadModelReader, finalItems: readonly Record<string, unknown>[]) {
  expect(await differencesFromTruth(reader, finalItems)).toEqual([]);
}

function keyOf(key: unknown): string {
  return typeof key === 'string' ? key : String((key as { orderId?: unknown }).orderId);
}

/** What `streamfold dump customer-totals` must print for these final items, line for line. */
export function expectedTotalsLines(finalItems: readonly Record<string, unknown>[]): string[] {
  return [...ordersTruth(finalItems).customerTotals]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([customer, totals]) => `{"key":${JSON.stringify(customer)},"value":{"amount":${totals.amount},"orders":${totals.orders}}}`);
}
