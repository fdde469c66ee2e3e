import { StreamfoldError } from '../errors.js';
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

const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Thrown with the dotted path of the value that could not be decoded; the decoder adds the record. */
export class AttributeDecodeError extends StreamfoldError {
  constructor(message: string, field: string) {
    super('MALFORMED_RECORD', message, { field });
  }
}

/**
 * Decodes a map of attributes (an item image) into a plain object. Keys are created with
 * `Object.fromEntries`, which defines own properties, so a `__proto__` attribute is data and never a prototype.
 */
export function decodeItem(map: unknown, path: string): Item {
  if (!isPlainRecord(map)) throw new AttributeDecodeError('an item image must be a map of attributes', path);
  return decodeMap(map, path, 0);
}

export function decodeAttribute(value: unknown, path: string, depth = 0): ItemValue {
  if (depth > DYNAMODB_MAX_NESTING_DEPTH) {
    throw new AttributeDecodeError(`nested deeper than DynamoDB's ${DYNAMODB_MAX_NESTING_DEPTH} levels`, path);
  }
  if (!isPlainRecord(value)) throw new AttributeDecodeError('an attribute value must be an object', path);
  const types = Object.keys(value);
  if (types.length !== 1) {
    throw new AttributeDecodeError(
      `an attribute value must have exactly one type, found ${types.length === 0 ? 'none' : types.join(', ')}`,
      path,
    );
  }
  const type = types[0] as string;
  const inner: unknown = value[type];
  switch (type) {
    case 'S':
      return expectString(inner, `${path}.S`);
    case 'N':
      return decodeNumber(inner, `${path}.N`);
    case 'B':
      return decodeBinary(inner, `${path}.B`);
    case 'BOOL':
      if (typeof inner !== 'boolean') throw new AttributeDecodeError('BOOL must be true or false', `${path}.BOOL`);
      return inner;
    case 'NULL':
      if (inner !== true) throw new AttributeDecodeError('NULL must be true', `${path}.NULL`);
      return null;
    case 'L':
      return expectArray(inner, `${path}.L`).map((element, index) =>
        decodeAttribute(element, `${path}.L[${index}]`, depth + 1),
      );
    case 'M':
      if (!isPlainRecord(inner)) throw new AttributeDecodeError('M must be a map', `${path}.M`);
      return decodeMap(inner, `${path}.M`, depth + 1);
    case 'SS':
      return decodeSet(inner, `${path}.SS`, expectString);
    case 'NS':
      return decodeSet(inner, `${path}.NS`, decodeNumber);
    case 'BS':
      return decodeSet(inner, `${path}.BS`, decodeBinary);
    default:
      throw new AttributeDecodeError(`unknown attribute type "${truncate(type)}"`, path);
  }
}

function decodeMap(map: Record<string, unknown>, path: string, depth: number): Item {
  return Object.fromEntries(
    Object.entries(map).map(([name, attribute]) => [name, decodeAttribute(attribute, `${path}.${name}`, depth)]),
  ) as Item;
}

function decodeSet<T>(value: unknown, path: string, decode: (element: unknown, path: string) => T): Set<T> {
  const elements = expectArray(value, path);
  if (elements.length === 0) throw new AttributeDecodeError('a set cannot be empty', path);
  return new Set(elements.map((element, index) => decode(element, `${path}[${index}]`)));
}

export function decodeNumber(value: unknown, path: string): ExactNumber {
  return parseNumberText(value, path).toJS();
}

function parseNumberText(value: unknown, path: string): Decimal {
  const text = expectString(value, path);
  try {
    return Decimal.parse(text).assertStorable();
  } catch (error) {
    throw new AttributeDecodeError(error instanceof Error ? error.message : String(error), path);
  }
}

function decodeBinary(value: unknown, path: string): Uint8Array {
  if (value instanceof Uint8Array) return value;
  const text = expectString(value, path);
  if (!BASE64_PATTERN.test(text)) throw new AttributeDecodeError('binary must be base64', path);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function expectString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new AttributeDecodeError(`expected a string, got ${describe(value)}`, path);
  return value;
}

function expectArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new AttributeDecodeError(`expected a list, got ${describe(value)}`, path);
  return value;
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
