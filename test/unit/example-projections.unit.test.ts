import { describe, expect, it } from 'vitest';
import { projectionTest, put, remove } from '../../src/testing/index.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { orderStatusCounts } from '../../projections/order-status-counts.js';
import { orderView } from '../../projections/order-view.js';

const key = ['orderId'];
const placed = { orderId: 'o-1', customerId: 'c-1', status: 'PLACED', amount: 1250 };
const huge = { orderId: 'o-2', customerId: 'c-1', status: 'PLACED', amount: 98765432109876543210987654321n };
const other = { orderId: 'o-3', customerId: 'c-2', status: 'PAID', amount: 10 };

describe('the example projections, under every delivery', () => {
  it('customer-totals counts and sums the orders each customer has now, exactly', async () => {
    await projectionTest(customerTotals, { key })
      .given([put(placed), put(huge), put(other), put({ ...placed, amount: 1300 }), put({ ...other, customerId: 'c-1' }), remove({ orderId: 'o-2' })])
      .expectRows([{ key: 'c-1', value: { orders: 2, amount: 1310 } }]);
    await projectionTest(customerTotals, { key })
      .given([put(placed), put(huge)])
      .expectRows([{ key: 'c-1', value: { orders: 2, amount: 98765432109876543210987655571n } }]);
  });

  it('order-status-counts follows each order to its current status', async () => {
    await projectionTest(orderStatusCounts, { key })
      .given([put(placed), put(other), put({ ...placed, status: 'PAID' }), put({ ...placed, status: 'SHIPPED' }), put({ ...other, status: 'CANCELLED' })])
      .expectRows([
        { key: 'CANCELLED', value: { orders: 1 } },
        { key: 'SHIPPED', value: { orders: 1 } },
      ]);
  });

  it('order-view keeps each order\'s latest state and drops removed orders', async () => {
    await projectionTest(orderView, { key })
      .given([put(placed), put(other), put({ ...placed, status: 'PAID' }), remove({ orderId: 'o-3' })])
      .expectRows([
        {
          key: { orderId: 'o-1' },
          value: { customerId: 'c-1', status: 'PAID', amount: 1250, updatedAt: new Date(1_764_000_002_000).toISOString() },
        },
      ]);
  });
});

describe('the projection test kit', () => {
  it('fails, naming the delivery, when the rows differ', async () => {
    await expect(
      projectionTest(customerTotals, { key }).given([put(placed)]).expectRows([{ key: 'c-1', value: { orders: 2, amount: 1250 } }]),
    ).rejects.toThrow(/customer-totals, delivered in order \(seed 1\):\n {2}expected .*"orders":2.*\n {2}got {6}.*"orders":1/);
  });
});
