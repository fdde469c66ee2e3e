import { pick, seededRandom } from '../src/testing/random.js';

/** An event item of the `OrderEvents` table. */
export interface OrderEventItem {
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly payload: Record<string, unknown>;
}

/**
 * A seeded event-sourced workload: each order is placed with its lines in one transaction, then paid, then
 * shipped or cancelled, in later transactions; the orders' transactions interleave.
 */
export function orderEventsWorkload(options: { seed: number; orders: number; customers: number }): OrderEventItem[][] {
  const random = seededRandom(options.seed);
  const perOrder: OrderEventItem[][][] = [];
  for (let order = 1; order <= options.orders; order += 1) {
    const streamId = `order-${String(order).padStart(4, '0')}`;
    let version = 0;
    const event = (type: string, payload: Record<string, unknown>): OrderEventItem => ({ streamId, version: ++version, type, payload });
    const day = `2026-11-${String(1 + Math.floor(random() * 28)).padStart(2, '0')}`;
    const placing = [event('OrderPlaced', { customerId: `c-${1 + Math.floor(random() * options.customers)}`, placedAt: `${day}T10:00:00Z` })];
    const lines = 1 + Math.floor(random() * 3);
    let total = 0;
    for (let line = 0; line < lines; line += 1) {
      const price = 100 + Math.floor(random() * 9_900);
      const quantity = 1 + Math.floor(random() * 3);
      total += price * quantity;
      placing.push(event('OrderLineAdded', { sku: pick(random, ['apple', 'pear', 'plum', 'fig']), quantity, price }));
    }
    const transactions = [placing];
    if (random() < 0.8) {
      transactions.push([event('OrderPaid', { amount: total, paidAt: `${day}T12:00:00Z` })]);
      transactions.push([random() < 0.8 ? event('OrderShipped', { carrier: pick(random, ['ups', 'dhl']) }) : event('OrderCancelled', { reason: 'changed mind' })]);
    } else if (random() < 0.5) {
      transactions.push([event('OrderCancelled', { reason: 'never paid' })]);
    }
    perOrder.push(transactions);
  }
  // Interleave the orders' transactions, keeping each order's own in order.
  const result: OrderEventItem[][] = [];
  const cursors = perOrder.map(() => 0);
  while (result.length < perOrder.reduce((total, transactions) => total + transactions.length, 0)) {
    const order = Math.floor(random() * perOrder.length);
    const transactions = perOrder[order] ?? [];
    const cursor = cursors[order] ?? 0;
    if (cursor >= transactions.length) continue;
    result.push(transactions[cursor] as OrderEventItem[]);
    cursors[order] = cursor + 1;
  }
  return result;
}
