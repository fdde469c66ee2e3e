import { defineProjection } from '../src/index.js';
import { OrderSchema } from './orders.js';

/** Per customer: how many orders exist now, and the sum of their amounts. */
export const customerTotals = defineProjection({
  name: 'customer-totals',
  version: 1,
  kind: 'sum',
  schema: OrderSchema,
  contribute: (order) => ({ [order.customerId]: { orders: 1, amount: order.amount } }),
});
