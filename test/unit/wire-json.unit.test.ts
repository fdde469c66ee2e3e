import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint } from '../../adapters/dynamodb/layout.js';
import { itemKeyFromAttributes } from '../../src/records/item-key.js';
import { fromWireJson, toWireJson, wireCopy } from '../../src/records/wire-json.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';

/** Keys that look like the codec's tags, or are otherwise awkward, beside ordinary ones. */
const awkwardKey = fc.oneof(
  fc.constantFrom('$bytes', '$bigint', '$$bytes', '$$$bigint', '$', '$other', '__proto__', 'constructor', '0', ''),
  fc.string(),
);

/** Values a record can hold once read: JSON, plus bytes and bigints, nested. */
const value = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((number) => !Object.is(number, -0)),
    fc.boolean(),
    fc.constant(null),
    fc.bigInt(),
    fc.uint8Array({ maxLength: 20 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(awkwardKey, tie('value'), { maxKeys: 4 }),
  ),
})).value;

describe('wire JSON', () => {
  it('gives back every value it is given, bytes and bigints included, whatever the keys', () => {
    fc.assert(
      fc.property(value, (original) => {
        expect(fromWireJson(toWireJson(original))).toEqual(original);
      }),
      { numRuns: 500 },
    );
  });

  it('returns plain Uint8Arrays, as the SDK does, for Buffers too', () => {
    const back = wireCopy({ B: Buffer.from([0, 1, 2]) });
    expect(Object.getPrototypeOf(back.B)).toBe(Uint8Array.prototype);
    expect([...back.B]).toEqual([0, 1, 2]);
  });

  it('keeps a __proto__ key as data, never as a prototype', () => {
    const back = fromWireJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.hasOwn(back, '__proto__')).toBe(true);
    expect((back as { polluted?: boolean }).polluted).toBeUndefined();
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  it('reads JSON written before it existed unchanged', () => {
    const old = { Keys: { id: { S: 'a' } }, n: 1, list: [1, 'x'], nested: { $other: true } };
    expect(fromWireJson(JSON.stringify(old))).toEqual(old);
  });

  it('refuses a tag it did not write', () => {
    expect(() => fromWireJson('{"$bytes":"AA==","other":1}')).toThrow(/malformed \$bytes tag/);
    expect(() => fromWireJson('{"$bigint":"1.5"}')).toThrow(/malformed \$bigint tag/);
  });
});

describe('events held behind a gap', () => {
  const held = {
    eventID: 'replay-3',
    dynamodb: { Keys: { file: { S: 'f' }, version: { N: '3' } }, NewImage: { payload: { M: { data: { B: new Uint8Array([0, 9, 255]) } } } } },
  };
  const checkpoint = {
    revision: 2,
    entries: new Map([['files#v1', { sequence: '1', pending: new Map<string, unknown>([['3', held]]), pendingSince: 5 }]]),
  };

  it('come back out of a DynamoDB checkpoint item byte for byte', () => {
    const key = itemKeyFromAttributes({ file: 'f' });
    const back = decodeCheckpoint(encodeCheckpoint('default', key, checkpoint));
    expect(back.entries.get('files#v1')?.pending?.get('3')).toEqual(held);
  });

  it('come back out of the in-memory store as copies, as DynamoDB would give them', async () => {
    const store = new MemoryReadModelStore();
    const key = itemKeyFromAttributes({ file: 'f' });
    await store.commit([{ key, parked: [], expectedRevision: undefined, checkpoint, views: [], sums: [] }]);
    held.dynamodb.NewImage.payload.M.data.B[0] = 42;
    const { checkpoints } = await store.load([key], []);
    const back = checkpoints.get(key.id)?.entries.get('files#v1')?.pending?.get('3') as typeof held;
    expect([...back.dynamodb.NewImage.payload.M.data.B]).toEqual([0, 9, 255]);
  });
});
