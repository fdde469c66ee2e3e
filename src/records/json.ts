import { Decimal } from './decimal.js';

/**
 * JSON for read-model values, exact: bigints and Decimals are written as number literals with every digit
 * (JSON itself has no precision limit), binaries as base64 strings, sets as arrays.
 */
export function toExactJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Decimal) return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : 'null';
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('base64'));
  if (value instanceof Set) return toExactJson([...value]);
  if (Array.isArray(value)) return `[${value.map(toExactJson).join(',')}]`;
  if (typeof value === 'object') {
    const fields = Object.entries(value)
      .filter(([, field]) => field !== undefined)
      .map(([name, field]) => `${JSON.stringify(name)}:${toExactJson(field)}`);
    return `{${fields.join(',')}}`;
  }
  return 'null';
}
