import { AttributeDecodeError, decodeAttribute, encodeAttribute, isPlainRecord, type Item } from './attribute-value.js';
import { Decimal } from './decimal.js';

export interface ItemKey {
  /** One canonical string per item: the key attributes sorted by name, numbers normalised, binaries in base64. */
  readonly id: string;
  /** The key attributes decoded, as a projection sees them. */
  readonly attributes: Item;
}

/**
 * Builds the canonical key of a source item from a stream record's `Keys`. Two records of one item give the
 * same string however DynamoDB spelled a number (`5`, `5.0`, `5E0`), since DynamoDB treats those as one key.
 */
export function itemKeyFromKeys(keys: unknown, path: string): ItemKey {
  if (!isPlainRecord(keys)) throw new AttributeDecodeError('Keys must be a map of attributes', path);
  // The common case, a single string partition key, without sorting or building the general form.
  const only = singleName(keys);
  const value = only === undefined ? undefined : keys[only];
  if (only !== undefined && isPlainRecord(value) && typeof value.S === 'string' && singleName(value) === 'S') {
    return { id: `{${JSON.stringify(only)}:{"S":${JSON.stringify(value.S)}}}`, attributes: { [only]: value.S } };
  }
  const names = Object.keys(keys).sort();
  if (names.length === 0 || names.length > 2) {
    throw new AttributeDecodeError(`Keys must hold a partition key and at most a sort key, found ${names.length}`, path);
  }
  const canonical: [string, Record<string, string>][] = [];
  const attributes: [string, Item[string]][] = [];
  for (const name of names) {
    const attributePath = `${path}.${name}`;
    const value = keys[name];
    const decoded = decodeAttribute(value, attributePath);
    attributes.push([name, decoded]);
    canonical.push([name, canonicalKeyValue(value as Record<string, unknown>, decoded, attributePath)]);
  }
  return {
    id: JSON.stringify(Object.fromEntries(canonical)),
    attributes: Object.fromEntries(attributes) as Item,
  };
}

function canonicalKeyValue(wire: Record<string, unknown>, decoded: unknown, path: string): Record<string, string> {
  if (typeof wire.S === 'string') return { S: wire.S };
  if (typeof wire.N === 'string') return { N: Decimal.parse(wire.N).toString() };
  if (decoded instanceof Uint8Array) return { B: Buffer.from(decoded).toString('base64') };
  throw new AttributeDecodeError('a key attribute must be of type S, N or B', path);
}

/** The canonical key of an item given as plain attributes, such as `{ orderId: 'o-1' }`. */
export function itemKeyFromAttributes(attributes: Record<string, unknown>): ItemKey {
  const wire = Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [name, encodeAttribute(value, name)]),
  );
  return itemKeyFromKeys(wire, 'key');
}

/** The object's only own property name, or `undefined` if it has none or several. */
function singleName(object: Record<string, unknown>): string | undefined {
  let only: string | undefined;
  for (const name in object) {
    if (!Object.hasOwn(object, name)) continue;
    if (only !== undefined) return undefined;
    only = name;
  }
  return only;
}
