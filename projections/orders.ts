import * as z from 'zod';
import { exactInteger } from '../src/index.js';

/** An item of the `Orders` source table. `amount` is integer cents and may exceed 2^53: it stays exact. */
export const OrderSchema = z.object({
  orderId: z.string().min(1),
  customerId: z.string().min(1),
  status: z.string().min(1),
  amount: exactInteger,
});

export type Order = z.infer<typeof OrderSchema>;
