import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isStreamfoldError } from '../../src/core/errors.js';
import { decodeAttribute, decodeItem } from '../../src/records/attribute-value.js';
import { decodeRecord } from '../../src/records/decode.js';
import { streamRecord } from '../support/records.js';

const TYPES = ['B', 'BOOL', 'L', 'M', 'N', 'NS', 'NULL', 'S', 'SS', 'BS'] as const;

/**
 * An attribute value as the Go and Java Lambda libraries re-serialize it: every type key present, all but
 * the real one `null`, at every level.
 */
function allTypes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(allTypes);
  if (typeof value !== 'object' || value === null) return value;
  const [[type, inner]] = Object.entries(value) as [[string, unknown]];
  const nested = type === 'L' ? (inner as unknown[]).map(allTypes) : type === 'M' ? allTypesMap(inner as Record<string, unknown>) : inner;
  return { ...Object.fromEntries(TYPES.map((name) => [name, null])), [type]: nested };
}

function allTypesMap(map: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(map).map(([name, value]) => [name, allTypes(value)]));
}

const image = {
  pk: { S: 'item-1' },
  n: { N: '12345678901234567890.5' },
  b: { B: Buffer.from([0, 1, 2]).toString('base64') },
  no: { BOOL: false },
  nothing: { NULL: true },
  list: { L: [{ S: 'a' }, { M: { deep: { BOOL: true } } }, { L: [{ N: '1' }] }] },
  map: { M: { inner: { M: { x: { S: 'x' } } }, set: { NS: ['1', '2'] } } },
  ss: { SS: ['a', 'b'] },
  bs: { BS: [Buffer.from([9]).toString('base64')] },
};

/** Canonical attribute values, nested: what a stream record of DynamoDB itself carries. */
const attribute = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string().map((S) => ({ S })),
    fc.integer().map((n) => ({ N: String(n) })),
    fc.uint8Array({ maxLength: 8 }).map((bytes) => ({ B: Buffer.from(bytes).toString('base64') })),
    fc.boolean().map((BOOL) => ({ BOOL })),
    fc.constant({ NULL: true }),
    fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 3 }).map((SS) => ({ SS })),
    fc.array(tie('value'), { maxLength: 3 }).map((L) => ({ L })),
    fc.dictionary(fc.string({ minLength: 1 }), tie('value'), { maxKeys: 3 }).map((M) => ({ M })),
  ),
})).value;

describe('attribute values from other serializers (every type key, all but one null)', () => {
  it('decode the same as the canonical form, at every level of an image', () => {
    expect(decodeItem(allTypesMap(image), 'NewImage')).toEqual(decodeItem(image, 'NewImage'));
  });

  it('decode the same as the canonical form, for any nested value', () => {
    fc.assert(
      fc.property(attribute, (value) => {
        expect(decodeAttribute(allTypes(value), 'v')).toEqual(decodeAttribute(value, 'v'));
      }),
      { numRuns: 500 },
    );
  });

  it('give the same item key and images in a whole record', () => {
    const keys = { pk: { S: 'item-1' }, sk: { N: '5.0' } };
    const canonical = decodeRecord(streamRecord({ eventName: 'MODIFY', keys, sequence: '100000000000000000001', newImage: image, oldImage: image }), 0);
    const tolerant = decodeRecord(
      streamRecord({ eventName: 'MODIFY', keys: allTypesMap(keys), sequence: '100000000000000000001', newImage: allTypesMap(image), oldImage: allTypesMap(image) }),
      0,
    );
    if (!canonical.ok || !tolerant.ok) throw new Error('expected both to decode');
    expect(tolerant.event.key).toEqual(canonical.event.key);
    expect(tolerant.event.newImage).toEqual(canonical.event.newImage);
    expect(tolerant.event.oldImage).toEqual(canonical.event.oldImage);
  });

  it('keep NULL: true and BOOL: false as real values, and NULL: null as no type', () => {
    const nulls = Object.fromEntries(TYPES.map((name) => [name, null]));
    expect(decodeAttribute({ ...nulls, NULL: true }, 'v')).toBeNull();
    expect(decodeAttribute({ ...nulls, BOOL: false }, 'v')).toBe(false);
    expect(() => decodeAttribute(nulls, 'v')).toThrow(/exactly one type, found none/);
  });

  it.each([
    ['two real types', { S: 'a', N: '1', B: null }, /exactly one type, found S, N/],
    ['NULL: true beside a string', { NULL: true, S: 'x', N: null }, /exactly one type, found NULL, S/],
    ['BOOL: false beside NULL: true', { BOOL: false, NULL: true, S: null }, /exactly one type, found BOOL, NULL/],
    ['an unknown type, even null', { S: 'a', X: null }, /exactly one type, found S, X/],
  ])('refuse %s, naming the field', (_name, value, message) => {
    const failure = (() => {
      try {
        decodeItem({ outer: { M: { field: value } } }, 'dynamodb.NewImage');
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(isStreamfoldError(failure, 'MALFORMED_RECORD')).toBe(true);
    expect((failure as Error).message).toMatch(message);
    expect((failure as { field?: string }).field).toBe('dynamodb.NewImage.outer.M.field');
  });
});
