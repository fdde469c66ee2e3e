import * as z from 'zod';
import { Decimal } from '../records/decimal.js';

/**
 * A round integer past 2^53 (1E+20, 3E+38) decodes to a `number`, since it converts back to the same
 * decimal; zod's `int()` takes safe integers only. It is handed over as the integer its decimal names, which
 * `BigInt(number)` would not give (the double's own binary value differs past 2^53).
 */
const roundLargeInteger = z
  .number()
  .refine((value) => Number.isInteger(value) && !Number.isSafeInteger(value), 'expected an integer')
  .transform((value) => {
    const decimal = Decimal.parse(String(value));
    return decimal.coefficient * 10n ** BigInt(decimal.exponent);
  });

/**
 * Schemas for numbers as streamfold decodes them: a `number` when it converts back exactly, a `bigint` for
 * larger integers, a `Decimal` for the rest. So a 38-digit amount is never rounded on its way in.
 */
export const exactInteger = z.union([z.number().int(), z.bigint(), roundLargeInteger]);
export const exactNumber = z.union([z.number(), z.bigint(), z.custom<Decimal>((value) => value instanceof Decimal, 'expected a Decimal')]);
