// The event-sourced example: projections of the `OrderEvents` event log.
import { orderHistory } from './order-history.js';
import { revenuePerDay } from './revenue-per-day.js';

export { orderHistory, revenuePerDay };
export { orderEvents, OrderEvent } from './order-events.js';
export default [orderHistory, revenuePerDay];
