// The example consumer: three projections of the `Orders` table fed by one stream.
import { customerTotals } from './customer-totals.js';
import { orderStatusCounts } from './order-status-counts.js';
import { orderView } from './order-view.js';

export { customerTotals, orderStatusCounts, orderView };
export default [customerTotals, orderStatusCounts, orderView];
