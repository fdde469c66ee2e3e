import * as z from 'zod';
import { defineEventLog, exactInteger } from '../../src/index.js';

/**
 * An event-sourced `OrderEvents` table: one item per domain event, `streamId` (the order) and `version` as
 * its key, `type` and `payload` beside them.
 */
export const OrderEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('OrderPlaced'), payload: z.object({ customerId: z.string(), placedAt: z.string() }) }),
  z.object({
    type: z.literal('OrderLineAdded'),
    payload: z.object({ sku: z.string(), quantity: z.number().int().positive(), price: exactInteger }),
  }),
  z.object({ type: z.literal('OrderPaid'), payload: z.object({ amount: exactInteger, paidAt: z.string() }) }),
  z.object({ type: z.literal('OrderShipped'), payload: z.object({ carrier: z.string() }) }),
  z.object({ type: z.literal('OrderCancelled'), payload: z.object({ reason: z.string() }) }),
]);

export type OrderEvent = z.infer<typeof OrderEvent>;

export const orderEvents = defineEventLog({
  streamId: 'streamId',
  version: 'version',
  type: 'type',
  payload: 'payload',
  events: OrderEvent,
  gapTimeoutMs: 60_000,
});
