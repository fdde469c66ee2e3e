import { defineProjection } from '../src/index.js';
import { OrderSchema } from './orders.js';

/** Per status: how many orders are in it now. */
export const orderStatusCounts = defineProjection({
  name: 'order-status-counts',
  version: 1,
  kind: 'sum',
  schema: OrderSchema,
  contribute: (order) => ({ [order.status]: { orders: 1 } }),
});
