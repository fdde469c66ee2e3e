import { StreamfoldError } from '../core/errors.js';
import { Decimal, isExactNumber, type ExactNumber } from './decimal.js';

/**
 * DynamoDB's typed attribute value as it crosses the wire. Lambda's JSON event carries binaries as base64
 * strings and the AWS SDK as bytes; decoding accepts both, encoding produces bytes.
 */
export type AttributeValue =
  | { S: string }
  | { N: string }
  | { B: Uint8Array | string }
  | { BOOL: boolean }
  | { NULL: true }
  | { L: AttributeValue[] }
  | { M: AttributeMap }
  | { SS: string[] }
  | { NS: string[] }
  | { BS: (Uint8Array | string)[] };

export type AttributeMap = Record<string, AttributeValue>;

/** A decoded attribute: what a projection sees in an item image. */
export type ItemValue =
  | string
  | ExactNumber
  | Uint8Array
  | boolean
  | null
  | ItemValue[]
  | Item
  | Set<string>
  | Set<ExactNumber>
  | Set<Uint8Array>;

export interface Item {
  [attribute: string]: ItemValue;
}

/** DynamoDB allows 32 levels of nesting; anything deeper is hostile input, refused before it exhausts the stack. */
export const DYNAMODB_MAX_NESTING_DEPTH = 32;

/** DynamoDB's attribute types: the keys an attribute value may carry, set or (from other serializers) null. */
const TYPE_NAMES: ReadonlySet<string> = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'L', 'M', 'SS', 'NS', 'BS']);

const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Thrown with the dotted path of the value that could not be decoded; the decoder adds the record. The path
 * is built on the way out of a failure, so decoding a valid item allocates no path strings.
 */
export class AttributeDecodeError extends StreamfoldError {
  constructor(message: string, field: string) {
    super('MALFORMED_RECORD', message, { field });
  }
}

/** A failure deep inside an attribute: its message, and the path below the attribute, outermost first. */
class NestedFailure {
  constructor(
    readonly message: string,
    readonly below: string,
  ) {}

  under(segment: string): NestedFailure {
    return new NestedFailure(this.message, `${segment}${this.below}`);
  }
}

/**
 * Decodes a map of attributes (an item image) into a plain object. A `__proto__` attribute is defined as an
 * own property, so it is data and never a prototype; every other name is assigned directly.
 */
export function decodeItem(map: unknown, path: string): Item {
  if (!isPlainRecord(map)) throw new AttributeDecodeError('an item image must be a map of attributes', path);
  try {
    return decodeMap(map, 0);
  } catch (error) {
    if (error instanceof NestedFailure) throw new AttributeDecodeError(error.message, `${path}${error.below}`);
    throw error;
  }
}

export function decodeAttribute(value: unknown, path: string): ItemValue {
  try {
    return decodeValue(value, 0);
  } catch (error) {
    if (error instanceof NestedFailure) throw new AttributeDecodeError(error.message, `${path}${error.below}`);
    throw error;
  }
}

function decodeValue(value: unknown, depth: number): ItemValue {
  if (depth > DYNAMODB_MAX_NESTING_DEPTH) {
    throw new NestedFailure(`nested deeper than DynamoDB's ${DYNAMODB_MAX_NESTING_DEPTH} levels`, '');
  }
  if (!isPlainRecord(value)) throw new NestedFailure('an attribute value must be an object', '');
  let type: string | undefined;
  let count = 0;
  for (const name in value) {
    if (!Object.hasOwn(value, name)) continue;
    type = name;
    count += 1;
  }
  // The Go and Java Lambda libraries write every type key, all but one null: a null type is no type. Only a
  // value with several keys pays for looking.
  if (count !== 1) type = onlyRealType(value);
  if (type === undefined) {
    const found = realTypes(value);
    throw new NestedFailure(`an attribute value must have exactly one type, found ${found.length === 0 ? 'none' : found.join(', ')}`, '');
  }
  const inner: unknown = value[type];
  switch (type) {
    case 'S':
      if (typeof inner !== 'string') throw new NestedFailure(`expected a string, got ${describe(inner)}`, '.S');
      return inner;
    case 'N':
      return numberOf(inner, '.N');
    case 'B':
      return binaryOf(inner, '.B');
    case 'BOOL':
      if (typeof inner !== 'boolean') throw new NestedFailure('BOOL must be true or false', '.BOOL');
      return inner;
    case 'NULL':
      if (inner !== true) throw new NestedFailure('NULL must be true', '.NULL');
      return null;
    case 'L': {
      if (!Array.isArray(inner)) throw new NestedFailure(`expected a list, got ${describe(inner)}`, '.L');
      const list: ItemValue[] = new Array<ItemValue>(inner.length);
      for (let index = 0; index < inner.length; index += 1) {
        try {
          list[index] = decodeValue(inner[index], depth + 1);
        } catch (error) {
          throw error instanceof NestedFailure ? error.under(`.L[${index}]`) : error;
        }
      }
      return list;
    }
    case 'M':
      if (!isPlainRecord(inner)) throw new NestedFailure('M must be a map', '.M');
      try {
        return decodeMap(inner, depth + 1);
      } catch (error) {
        throw error instanceof NestedFailure ? error.under('.M') : error;
      }
    case 'SS':
      return setOf(inner, '.SS', (element, at) => {
        if (typeof element !== 'string') throw new NestedFailure(`expected a string, got ${describe(element)}`, at);
        return element;
      });
    case 'NS':
      return setOf(inner, '.NS', numberOf);
    case 'BS':
      return setOf(inner, '.BS', binaryOf);
    default:
      throw new NestedFailure(`unknown attribute type "${truncate(type)}"`, '');
  }
}

/** The keys that carry a type: all but null ones of DynamoDB's type names (an unknown key counts, to be refused). */
function realTypes(value: Record<string, unknown>): string[] {
  return Object.keys(value).filter((name) => value[name] !== null || !TYPE_NAMES.has(name));
}

function onlyRealType(value: Record<string, unknown>): string | undefined {
  const found = realTypes(value);
  return found.length === 1 ? found[0] : undefined;
}

function decodeMap(map: Record<string, unknown>, depth: number): Item {
  const item: Item = {};
  for (const name in map) {
    if (!Object.hasOwn(map, name)) continue;
    let value: ItemValue;
    try {
      value = decodeValue(map[name], depth);
    } catch (error) {
      throw error instanceof NestedFailure ? error.under(`.${name}`) : error;
    }
    if (name === '__proto__') Object.defineProperty(item, name, { value, enumerable: true, writable: true, configurable: true });
    else item[name] = value;
  }
  return item;
}

function setOf<T>(value: unknown, segment: string, decode: (element: unknown, at: string) => T): Set<T> {
  if (!Array.isArray(value)) throw new NestedFailure(`expected a list, got ${describe(value)}`, segment);
  if (value.length === 0) throw new NestedFailure('a set cannot be empty', segment);
  const set = new Set<T>();
  value.forEach((element, index) => set.add(decode(element, `${segment}[${index}]`)));
  return set;
}

/** Up to 15 significant digits a decimal string converts to a double and back unchanged. */
const SHORT_NUMBER = /^-?(?:0|[1-9]\d{0,14})(?:\.\d{1,15})?$/;

function numberOf(value: unknown, at: string): ExactNumber {
  if (typeof value !== 'string') throw new NestedFailure(`expected a string, got ${describe(value)}`, at);
  // The common case, without BigInt: `+ 0` turns -0 into 0, as DynamoDB has no negative zero.
  if (SHORT_NUMBER.test(value) && value.replace(/^-?0*\.?0*/, '').replace('.', '').length <= 15) return Number(value) + 0;
  try {
    return Decimal.parse(value).assertStorable().toJS();
  } catch (error) {
    throw new NestedFailure(error instanceof Error ? error.message : String(error), at);
  }
}

function binaryOf(value: unknown, at: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value !== 'string') throw new NestedFailure(`expected a string, got ${describe(value)}`, at);
  if (!BASE64_PATTERN.test(value)) throw new NestedFailure('binary must be base64', at);
  return new Uint8Array(Buffer.from(value, 'base64'));
}

export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Encodes a projection's value for DynamoDB. Numbers keep every digit (bigint and Decimal included);
 * `undefined` fields are left out, as DynamoDB has no such type.
 */
export function encodeAttribute(value: unknown, path: string): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (isExactNumber(value)) return { N: encodeNumber(value, path) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null) return { NULL: true };
  if (value instanceof Uint8Array) return { B: value };
  if (Array.isArray(value)) return { L: value.map((element, index) => encodeAttribute(element, `${path}[${index}]`)) };
  if (value instanceof Set) return encodeSet(value, path);
  if (isPlainRecord(value)) return { M: encodeItem(value, path) };
  throw new StreamfoldError('UNSUPPORTED_VALUE', `cannot store ${describe(value)} in DynamoDB`, { field: path });
}

export function encodeItem(item: Record<string, unknown>, path = ''): AttributeMap {
  const entries: [string, AttributeValue][] = [];
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    entries.push([name, encodeAttribute(value, path === '' ? name : `${path}.${name}`)]);
  }
  return Object.fromEntries(entries) as AttributeMap;
}

export function encodeNumber(value: ExactNumber | string, path: string): string {
  try {
    return Decimal.from(value).assertStorable().toString();
  } catch (error) {
    throw new StreamfoldError('INVALID_NUMBER', error instanceof Error ? error.message : String(error), {
      field: path,
    });
  }
}

function encodeSet(set: Set<unknown>, path: string): AttributeValue {
  const elements = [...set];
  if (elements.length === 0) {
    throw new StreamfoldError('UNSUPPORTED_VALUE', 'DynamoDB cannot store an empty set', { field: path });
  }
  if (elements.every((element): element is string => typeof element === 'string')) return { SS: elements };
  if (elements.every(isExactNumber)) {
    return { NS: elements.map((element, index) => encodeNumber(element, `${path}[${index}]`)) };
  }
  if (elements.every((element): element is Uint8Array => element instanceof Uint8Array)) return { BS: elements };
  throw new StreamfoldError('UNSUPPORTED_VALUE', 'a set must hold only strings, only numbers or only binaries', {
    field: path,
  });
}
