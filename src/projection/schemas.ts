import * as z from 'zod';
import { Decimal } from '../records/decimal.js';

/**
 * Schemas for numbers as streamfold decodes them: a `number` when it converts back exactly, a `bigint` for
 * larger integers, a `Decimal` for the rest. So a 38-digit amount is never rounded on its way in.
 */
export const exactInteger = z.union([z.number().int(), z.bigint()]);
export const exactNumber = z.union([z.number(), z.bigint(), z.custom<Decimal>((value) => value instanceof Decimal, 'expected a Decimal')]);
