/**
 * The example read models computed straight from a scan of the `Orders` table, with BigInt arithmetic on
 * the scanned decimal strings. It shares nothing with the runtime, so it can tell when the runtime is wrong.
 */
export interface ScannedOrder {
  readonly orderId: string;
  readonly customerId: string;
  readonly status: string;
  /** Exact decimal digits, as the scan returned them. */
  readonly amount: string;
}

export type Totals = Map<string, Record<string, bigint>>;

export interface OrdersTruth {
  readonly customerTotals: Totals;
  readonly statusCounts: Totals;
  readonly orders: Map<string, { customerId: string; status: string; amount: bigint }>;
}

export function ordersTruth(items: readonly Record<string, unknown>[]): OrdersTruth {
  const customerTotals: Totals = new Map();
  const statusCounts: Totals = new Map();
  const orders = new Map<string, { customerId: string; status: string; amount: bigint }>();
  for (const item of items) {
    const order = item as unknown as ScannedOrder;
    const amount = BigInt(order.amount);
    const customer = customerTotals.get(order.customerId) ?? { orders: 0n, amount: 0n };
    customerTotals.set(order.customerId, { orders: (customer.orders ?? 0n) + 1n, amount: (customer.amount ?? 0n) + amount });
    const status = statusCounts.get(order.status) ?? { orders: 0n };
    statusCounts.set(order.status, { orders: (status.orders ?? 0n) + 1n });
    orders.set(order.orderId, { customerId: order.customerId, status: order.status, amount });
  }
  return { customerTotals, statusCounts, orders };
}

export interface Difference {
  readonly readModel: string;
  readonly key: string;
  readonly field: string;
  readonly stored: string;
  readonly expected: string;
}

/** Stored rows of the example read models, by key; a read model left out is not compared. */
export interface OrdersReadModels {
  readonly customerTotals?: ReadonlyMap<string, Record<string, unknown>>;
  readonly statusCounts?: ReadonlyMap<string, Record<string, unknown>>;
  readonly orders?: ReadonlyMap<string, Record<string, unknown>>;
}

/** Every difference between the stored example read models and the truth; an order row by its three fields. */
export function ordersDifferences(stored: OrdersReadModels, truth: OrdersTruth): Difference[] {
  const orders =
    stored.orders === undefined
      ? undefined
      : new Map([...stored.orders].map(([key, row]) => [key, { customerId: row.customerId, status: row.status, amount: row.amount }]));
  return [
    ...(stored.customerTotals === undefined ? [] : compareRows('customer-totals', stored.customerTotals, truth.customerTotals)),
    ...(stored.statusCounts === undefined ? [] : compareRows('order-status-counts', stored.statusCounts, truth.statusCounts)),
    ...(orders === undefined ? [] : compareRows('order-view', orders, truth.orders)),
  ];
}

/** Row by row, field by field: every row of either side is compared, numbers as exact integers. */
export function compareRows(
  readModel: string,
  stored: ReadonlyMap<string, Record<string, unknown>>,
  expected: ReadonlyMap<string, Record<string, unknown>>,
): Difference[] {
  const differences: Difference[] = [];
  for (const key of new Set([...stored.keys(), ...expected.keys()])) {
    const left = stored.get(key);
    const right = expected.get(key);
    for (const field of new Set([...Object.keys(left ?? {}), ...Object.keys(right ?? {})])) {
      const storedValue = left === undefined ? '(no row)' : render(left[field]);
      const expectedValue = right === undefined ? '(no row)' : render(right[field]);
      if (storedValue !== expectedValue) {
        differences.push({ readModel, key, field, stored: storedValue, expected: expectedValue });
      }
    }
  }
  return differences;
}

function render(value: unknown): string {
  if (value === undefined) return '(missing)';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value).toString() : String(value);
  if (typeof value === 'object' && value !== null && 'toString' in value) return String(value);
  return JSON.stringify(value);
}
