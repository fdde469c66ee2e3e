import { pick, seededRandom } from '../src/testing/random.js';

export type WorkloadOperation =
  | { readonly type: 'put'; readonly item: Record<string, unknown> }
  | { readonly type: 'update'; readonly key: Record<string, unknown>; readonly changes: Record<string, unknown> }
  | { readonly type: 'delete'; readonly key: Record<string, unknown> };

export interface SourceWriter {
  put(item: Record<string, unknown>): Promise<void>;
  update(key: Record<string, unknown>, changes: Record<string, unknown>): Promise<void>;
  delete(key: Record<string, unknown>): Promise<void>;
}

export interface OrdersWorkloadOptions {
  readonly seed: number;
  readonly operations: number;
  readonly customers: number;
  /** Orders alive at most at once; new orders stop while it is reached. */
  readonly maxOrders: number;
  /** Share of amounts that exceed JavaScript's safe integers (25 digits), to prove sums stay exact. */
  readonly hugeAmountShare?: number;
}

export const ORDER_STATUSES = ['PLACED', 'PAID', 'SHIPPED', 'DELIVERED', 'CANCELLED'] as const;

/**
 * A seeded mix of order writes: inserts, updates that change amount, status and customer (one or several
 * at once), and deletes, with some amounts too large for a JS number.
 */
export function ordersWorkload(options: OrdersWorkloadOptions): WorkloadOperation[] {
  const random = seededRandom(options.seed);
  const customers = Array.from({ length: options.customers }, (_, index) => `c-${String(index + 1).padStart(3, '0')}`);
  const live: string[] = [];
  const operations: WorkloadOperation[] = [];
  let nextOrder = 1;
  const amount = (): number | bigint =>
    random() < (options.hugeAmountShare ?? 0.1)
      ? BigInt(Math.floor(random() * 9e6) + 1e6) * 10n ** 18n + BigInt(Math.floor(random() * 1e9))
      : Math.floor(random() * 100_000) + 1;
  while (operations.length < options.operations) {
    const roll = random();
    if (live.length === 0 || (live.length < options.maxOrders && roll < 0.35)) {
      const orderId = `o-${String(nextOrder++).padStart(5, '0')}`;
      live.push(orderId);
      operations.push({
        type: 'put',
        item: { orderId, customerId: pick(random, customers), status: 'PLACED', amount: amount() },
      });
    } else if (roll < 0.45) {
      const index = Math.floor(random() * live.length);
      const [orderId] = live.splice(index, 1);
      operations.push({ type: 'delete', key: { orderId } });
    } else {
      const orderId = pick(random, live);
      const changes: Record<string, unknown> = {};
      const what = random();
      if (what < 0.4 || what > 0.9) changes.status = pick(random, ORDER_STATUSES);
      if (what >= 0.4 && what < 0.65) changes.amount = amount();
      if (what >= 0.65) changes.customerId = pick(random, customers);
      operations.push({ type: 'update', key: { orderId }, changes });
    }
  }
  return operations;
}

export async function applyWorkload(writer: SourceWriter, operations: readonly WorkloadOperation[]): Promise<void> {
  for (const operation of operations) {
    switch (operation.type) {
      case 'put':
        await writer.put(operation.item);
        break;
      case 'update':
        await writer.update(operation.key, operation.changes);
        break;
      case 'delete':
        await writer.delete(operation.key);
        break;
    }
  }
}
