import { defineEventProjection } from '../../src/index.js';
import { orderEvents } from './order-events.js';

/** Per day: what was paid, and how many payments; each payment counted once. */
export const revenuePerDay = defineEventProjection({
  name: 'revenue-per-day',
  version: 1,
  kind: 'event-sum',
  log: orderEvents,
  contribute: (event) =>
    event.type === 'OrderPaid' ? { [event.payload.paidAt.slice(0, 10)]: { revenue: event.payload.amount, payments: 1 } } : {},
});
