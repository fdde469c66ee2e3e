import { StreamfoldError } from '../core/errors.js';

/**
 * JSON text for what streamfold keeps and reads back later (parked records, events held in a checkpoint, a
 * scan's position), exact where plain JSON is not: bytes (`Uint8Array`, `Buffer`, which is how the SDK
 * returns a `B` value) become `{"$bytes":"<base64>"}` and bigints `{"$bigint":"<digits>"}`, where plain
 * JSON would turn bytes into `{"0":4,"1":5}` and throw on a bigint.
 *
 * So that no data can pass for a tag, an object key made of one or more `$` and a tag name (`$bytes`,
 * `$$bytes`, ...) gets one more `$` on the way in and loses it on the way out. Every other key, and all
 * JSON written before this codec existed that has no such key, reads back unchanged.
 *
 * Everything else follows `JSON.stringify`: `toJSON` is honoured (a `Date` becomes its ISO string),
 * `undefined` fields are left out, and objects come back as plain objects (a `__proto__` key as data).
 */
const TAG_BYTES = '$bytes';
const TAG_BIGINT = '$bigint';
/** A tag name behind one or more `$`: the keys that are tags (one `$`) or escaped data (more). */
const TAG_LIKE = /^\$+(?:bytes|bigint)$/;

export function toWireJson(value: unknown): string {
  return JSON.stringify(tagged(value)) ?? 'null';
}

export function fromWireJson(text: string): unknown {
  return untagged(JSON.parse(text) as unknown);
}

/** The same value, as it will read back: what a store that keeps values in memory hands out. */
export function wireCopy<T>(value: T): T {
  return fromWireJson(toWireJson(value)) as T;
}

function tagged(value: unknown): unknown {
  if (typeof value === 'bigint') return { [TAG_BIGINT]: value.toString() };
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof Uint8Array) return { [TAG_BYTES]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map((element) => (element === undefined ? null : tagged(element)));
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return tagged(toJSON.call(value) as unknown);
  const entries: [string, unknown][] = [];
  for (const [name, field] of Object.entries(value)) {
    if (field === undefined || typeof field === 'function' || typeof field === 'symbol') continue;
    entries.push([TAG_LIKE.test(name) ? `$${name}` : name, tagged(field)]);
  }
  // Object.fromEntries defines each key, so a `__proto__` key stays data.
  return Object.fromEntries(entries);
}

function untagged(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) value[index] = untagged(value[index]);
    return value;
  }
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, TAG_BYTES)) return bytesOf(record);
  if (Object.hasOwn(record, TAG_BIGINT)) return bigintOf(record);
  return Object.fromEntries(
    Object.entries(record).map(([name, field]) => [TAG_LIKE.test(name) ? name.slice(1) : name, untagged(field)]),
  );
}

function bytesOf(record: Record<string, unknown>): Uint8Array {
  const text = onlyField(record, TAG_BYTES);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function bigintOf(record: Record<string, unknown>): bigint {
  const text = onlyField(record, TAG_BIGINT);
  if (!/^-?\d+$/.test(text)) throw malformed(TAG_BIGINT);
  return BigInt(text);
}

/** A tag is an object with that one key and a string: anything else was not written by this codec. */
function onlyField(record: Record<string, unknown>, tag: string): string {
  const text = record[tag];
  if (typeof text !== 'string' || Object.keys(record).length !== 1) throw malformed(tag);
  return text;
}

function malformed(tag: string): StreamfoldError {
  return new StreamfoldError('MALFORMED_RECORD', `stored JSON has a malformed ${tag} tag`, { field: tag });
}
