import type { ExactNumber } from '../src/index.js';
import { defineProjection } from '../src/index.js';
import { OrderSchema } from './orders.js';

export interface OrderView {
  readonly customerId: string;
  readonly status: string;
  readonly amount: ExactNumber;
  /** When the order last changed, as DynamoDB Streams saw it (to the second). */
  readonly updatedAt: string | null;
}

/** Per order: its latest state; the row goes when the order is removed. */
export const orderView = defineProjection({
  name: 'order-view',
  version: 1,
  kind: 'view',
  schema: OrderSchema,
  // The row is the latest image's fields: a table scan rebuilds it. Only the time of the change is not in
  // the table, so `verify` leaves it out.
  dependsOn: 'image',
  volatileFields: ['updatedAt'],
  evolve: (_state: OrderView | undefined, event): OrderView | undefined => {
    if (event.kind === 'remove' || event.newImage === undefined) return undefined;
    const { customerId, status, amount } = event.newImage;
    return {
      customerId,
      status,
      amount,
      updatedAt: event.approximateTime === undefined ? null : new Date(event.approximateTime).toISOString(),
    };
  },
});
