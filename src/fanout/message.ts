import { isPlainRecord } from '../records/attribute-value.js';
import type { ChangeEvent } from '../records/change-event.js';
import { Decimal } from '../records/decimal.js';

/**
 * The message an event becomes by default. Numbers are strings: EventBridge's JSON refuses integers past
 * 64 bits, and a consumer in another language would round them anyway.
 */
export function defaultMessage(event: ChangeEvent): Record<string, unknown> {
  return {
    eventID: event.eventID,
    kind: event.kind,
    key: withNumbersAsStrings(event.key.attributes),
    sequence: event.sequence,
    time: event.approximateTime === undefined ? null : new Date(event.approximateTime).toISOString(),
    table: event.source.table ?? null,
    newImage: event.newImage === undefined ? null : withNumbersAsStrings(event.newImage),
    oldImage: event.oldImage === undefined ? null : withNumbersAsStrings(event.oldImage),
    ...(event.ttlExpiry ? { ttlExpiry: true } : {}),
    ...(event.replay ? { replay: true } : {}),
  };
}

/** Plain JSON: numbers as exact decimal strings, binaries as base64, sets as arrays. */
export function withNumbersAsStrings(value: unknown): unknown {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint' || value instanceof Decimal) return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Set) return [...value].map(withNumbersAsStrings);
  if (Array.isArray(value)) return value.map(withNumbersAsStrings);
  if (isPlainRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([name, field]) => [name, withNumbersAsStrings(field)]));
  }
  return value;
}

/** JSON for a message body; numbers a projection left as bigint or Decimal keep every digit as strings. */
export function messageBody(value: unknown): string {
  return JSON.stringify(value, (_name, field: unknown) =>
    typeof field === 'bigint' || field instanceof Decimal ? field.toString() : field,
  );
}
