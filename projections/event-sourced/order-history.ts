import { defineEventProjection, type ExactNumber } from '../../src/index.js';
import { orderEvents } from './order-events.js';

export interface OrderHistory {
  readonly customerId: string | null;
  readonly status: 'placed' | 'paid' | 'shipped' | 'cancelled';
  readonly lines: readonly { readonly sku: string; readonly quantity: number; readonly price: ExactNumber }[];
  /** The sum of the lines, in cents, exact. */
  readonly total: bigint;
  /** Every event, in version order: this view depends on history, which only an event log can rebuild. */
  readonly history: readonly string[];
}

/** Per order: its full history folded in version order. */
export const orderHistory = defineEventProjection({
  name: 'order-history',
  version: 1,
  kind: 'event-view',
  log: orderEvents,
  evolve: (state: OrderHistory | undefined, event): OrderHistory => {
    const current: OrderHistory = state ?? { customerId: null, status: 'placed', lines: [], total: 0n, history: [] };
    const history = [...current.history, `${event.version}:${event.type}`];
    switch (event.type) {
      case 'OrderPlaced':
        return { ...current, customerId: event.payload.customerId, status: 'placed', history };
      case 'OrderLineAdded':
        return {
          ...current,
          lines: [...current.lines, event.payload],
          total: BigInt(current.total) + BigInt(event.payload.price) * BigInt(event.payload.quantity),
          history,
        };
      case 'OrderPaid':
        return { ...current, status: 'paid', history };
      case 'OrderShipped':
        return { ...current, status: 'shipped', history };
      case 'OrderCancelled':
        return { ...current, status: 'cancelled', history };
    }
  },
});
