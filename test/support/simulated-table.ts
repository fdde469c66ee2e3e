import type { WorkloadOperation } from '../../demo/orders-workload.js';
import { orderRecord, type TestOrder } from './records.js';

/**
 * What DynamoDB Streams would emit for a workload on the `Orders` table, without DynamoDB: one record per
 * effective change, sequence numbers growing with gaps and varying lengths as real ones do.
 */
export function simulateOrders(operations: readonly WorkloadOperation[]): {
  records: Record<string, unknown>[];
  finalItems: Record<string, unknown>[];
} {
  const items = new Map<string, TestOrder>();
  const records: Record<string, unknown>[] = [];
  let sequence = 10n ** 20n;
  const next = (): string => {
    sequence += BigInt(1 + (records.length % 7)) * 1000n;
    if (records.length === 300) sequence *= 10n ** 10n; // lengths vary, as on real shards
    return sequence.toString();
  };
  for (const operation of operations) {
    if (operation.type === 'put') {
      const order = operation.item as unknown as TestOrder;
      const previous = items.get(order.orderId);
      items.set(order.orderId, order);
      records.push(orderRecord(next(), order, previous));
    } else {
      const orderId = String(operation.key.orderId);
      const previous = items.get(orderId);
      if (previous === undefined) continue;
      if (operation.type === 'delete') {
        items.delete(orderId);
        records.push(orderRecord(next(), undefined, previous));
      } else {
        const updated = { ...previous, ...operation.changes } as TestOrder;
        const changed = Object.keys(operation.changes).some(
          (field) => String(updated[field as keyof TestOrder]) !== String(previous[field as keyof TestOrder]),
        );
        if (!changed) continue; // DynamoDB writes no record for a change that changes nothing
        items.set(orderId, updated);
        records.push(orderRecord(next(), updated, previous));
      }
    }
  }
  const finalItems = [...items.values()].map((order) => ({ ...order, amount: String(order.amount) }));
  return { records, finalItems };
}
