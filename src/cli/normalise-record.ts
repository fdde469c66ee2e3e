import { isPlainRecord } from '../records/attribute-value.js';

/**
 * Stream records reach the CLI in the shapes people have: as Lambda delivers them, as the AWS CLI prints
 * them (`aws dynamodbstreams get-records`: ISO dates under CLI v2, `Type`/`PrincipalId`), and as
 * `JSON.stringify` writes the AWS SDK's (ISO dates, `Uint8Array` binaries as `{"0":4,"1":5}`). Each is
 * turned into Lambda's shape here, at the input's edge, so that what the engine folds, and what it parks,
 * is the record Lambda would have delivered. Anything that is not one of these shapes is left as it is:
 * the decoder then refuses it with its own error, naming the field, and the record is parked, not lost.
 */
export function toLambdaRecord(record: unknown): unknown {
  if (!isPlainRecord(record) || 'kinesis' in record || !isPlainRecord(record.dynamodb)) return record;
  const body = record.dynamodb;
  return {
    ...record,
    dynamodb: {
      ...body,
      ...timeOf(body.ApproximateCreationDateTime),
      ...imageOf('Keys', body.Keys),
      ...imageOf('NewImage', body.NewImage),
      ...imageOf('OldImage', body.OldImage),
    },
    ...identityOf(record.userIdentity),
  };
}

/** Epoch seconds, as Lambda gives them; the SDK's `Date` becomes an ISO string in JSON, the AWS CLI's too. */
function timeOf(value: unknown): { ApproximateCreationDateTime?: unknown } {
  if (typeof value !== 'string') return {};
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return { ApproximateCreationDateTime: Number(trimmed) };
  const milliseconds = Date.parse(trimmed);
  return Number.isNaN(milliseconds) ? {} : { ApproximateCreationDateTime: Math.floor(milliseconds / 1000) };
}

/** The AWS CLI and SDK spell the identity `{ Type, PrincipalId }`; Lambda `{ type, principalId }`. */
function identityOf(identity: unknown): { userIdentity?: unknown } {
  if (!isPlainRecord(identity) || !('PrincipalId' in identity || 'Type' in identity)) return {};
  const { Type, PrincipalId, ...rest } = identity;
  return {
    userIdentity: {
      ...rest,
      ...(Type === undefined ? {} : { type: Type }),
      ...(PrincipalId === undefined ? {} : { principalId: PrincipalId }),
    },
  };
}

function imageOf(name: 'Keys' | 'NewImage' | 'OldImage', map: unknown): Record<string, unknown> {
  return isPlainRecord(map) ? { [name]: mapOf(map) } : {};
}

function mapOf(map: Record<string, unknown>): Record<string, unknown> {
  // Object.fromEntries defines each name as an own property: an attribute called `__proto__` stays data.
  return Object.fromEntries(Object.entries(map).map(([name, value]) => [name, attributeOf(value)]));
}

/** Binaries in base64, at any depth; every other type as it is. */
function attributeOf(value: unknown): unknown {
  if (!isPlainRecord(value)) return value;
  if ('B' in value) return { ...value, B: bytesOf(value.B) };
  if ('BS' in value && Array.isArray(value.BS)) return { ...value, BS: value.BS.map(bytesOf) };
  if ('L' in value && Array.isArray(value.L)) return { ...value, L: value.L.map(attributeOf) };
  if ('M' in value && isPlainRecord(value.M)) return { ...value, M: mapOf(value.M) };
  return value;
}

/**
 * A binary as base64. `JSON.stringify` of a `Uint8Array` gives `{"0":4,"1":5}` (and `{}` when empty), of a
 * Node `Buffer` `{"type":"Buffer","data":[4,5]}`; in the `B` position both are bytes beyond doubt.
 */
export function bytesOf(value: unknown): unknown {
  if (typeof value === 'string') return value;
  const bytes = Array.isArray(value) ? value : byteArrayOf(value);
  if (bytes === undefined || !bytes.every((byte) => Number.isInteger(byte) && byte >= 0 && byte <= 255)) return value;
  return Buffer.from(bytes as number[]).toString('base64');
}

function byteArrayOf(value: unknown): unknown[] | undefined {
  if (!isPlainRecord(value)) return undefined;
  if (value.type === 'Buffer' && Array.isArray(value.data)) return value.data;
  const names = Object.keys(value);
  if (!names.every((name, index) => name === String(index))) return undefined;
  return names.map((name) => value[name]);
}
