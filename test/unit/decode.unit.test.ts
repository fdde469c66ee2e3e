import { describe, expect, it } from 'vitest';
import { isStreamfoldError } from '../../src/core/errors.js';
import { decodeRecord, decodeRecords } from '../../src/records/decode.js';
import { Decimal } from '../../src/records/decimal.js';
import { streamRecord } from '../support/records.js';

const keys = { pk: { S: 'item-1' } };

function decodeOk(record: unknown) {
  const result = decodeRecord(record, 0);
  if (!result.ok) throw result.error;
  return result.event;
}

function decodeFailure(record: unknown, index = 0) {
  const result = decodeRecord(record, index);
  if (result.ok) throw new Error('expected a decode failure');
  return result;
}

describe('decodeRecord', () => {
  it('decodes every attribute type into plain values', () => {
    const event = decodeOk(
      streamRecord({
        eventName: 'INSERT',
        keys,
        sequence: '100000000000000000001',
        newImage: {
          pk: { S: 'item-1' },
          s: { S: 'text' },
          n: { N: '12.5' },
          b: { B: Buffer.from('hello').toString('base64') },
          yes: { BOOL: true },
          nothing: { NULL: true },
          list: { L: [{ S: 'a' }, { N: '1' }, { L: [{ BOOL: false }] }] },
          map: { M: { inner: { M: { deep: { S: 'x' } } } } },
          ss: { SS: ['a', 'b'] },
          ns: { NS: ['1', '2.5', '12345678901234567890'] },
          bs: { BS: [Buffer.from([1, 2]).toString('base64')] },
        },
      }),
    );
    const image = event.newImage ?? {};
    expect(image.s).toBe('text');
    expect(image.n).toBe(12.5);
    expect(Buffer.from(image.b as Uint8Array).toString()).toBe('hello');
    expect(image.yes).toBe(true);
    expect(image.nothing).toBeNull();
    expect(image.list).toEqual(['a', 1, [false]]);
    expect(image.map).toEqual({ inner: { deep: 'x' } });
    expect(image.ss).toEqual(new Set(['a', 'b']));
    expect(image.ns).toEqual(new Set([1, 2.5, 12345678901234567890n]));
    expect([...(image.bs as Set<Uint8Array>)].map((bytes) => [...bytes])).toEqual([[1, 2]]);
    expect(event.kind).toBe('insert');
    expect(event.source.table).toBe('Orders');
    expect(event.approximateTime).toBe(1_764_000_000_000);
  });

  it('keeps a 38-digit number exact', () => {
    const digits = '12345678901234567890123456789012345678';
    const event = decodeOk(
      streamRecord({
        eventName: 'INSERT',
        keys,
        sequence: '100000000000000000001',
        newImage: { big: { N: digits }, precise: { N: '0.12345678901234567890123456789012345678' } },
      }),
    );
    expect(event.newImage?.big).toBe(BigInt(digits));
    expect((event.newImage?.precise as Decimal).toString()).toBe('0.12345678901234567890123456789012345678');
  });

  it('treats __proto__ and constructor attributes as plain data', () => {
    const event = decodeOk(
      JSON.parse(
        JSON.stringify(
          streamRecord({
            eventName: 'INSERT',
            keys,
            sequence: '100000000000000000001',
            newImage: {
              ['__proto__']: { M: { polluted: { BOOL: true } } },
              constructor: { S: 'not a function' },
              nested: { M: { ['__proto__']: { S: 'text' } } },
            },
          }),
        ),
      ),
    );
    const image = event.newImage as Record<string, unknown>;
    expect(Object.getPrototypeOf(image)).toBe(Object.prototype);
    expect((image as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(image, '__proto__')?.value).toEqual({ polluted: true });
    expect(image.constructor).toBe('not a function');
    expect(Object.getOwnPropertyDescriptor(image.nested, '__proto__')?.value).toBe('text');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('reads keys of type S, N and B, with and without a sort key, as one canonical string', () => {
    const keysOnly = { viewType: 'KEYS_ONLY' } as const;
    const numberKey = decodeOk(streamRecord({ eventName: 'REMOVE', keys: { id: { N: '5.0' } }, sequence: '1', ...keysOnly }));
    const sameNumber = decodeOk(streamRecord({ eventName: 'REMOVE', keys: { id: { N: '5' } }, sequence: '2', ...keysOnly }));
    expect(numberKey.key.id).toBe(sameNumber.key.id);
    expect(numberKey.key.attributes).toEqual({ id: 5 });

    const composite = decodeOk(
      streamRecord({ eventName: 'REMOVE', keys: { sk: { S: 'b' }, pk: { B: Buffer.from([255]).toString('base64') } }, sequence: '3', ...keysOnly }),
    );
    const reordered = decodeOk(
      streamRecord({ eventName: 'REMOVE', keys: { pk: { B: Buffer.from([255]).toString('base64') }, sk: { S: 'b' } }, sequence: '4', ...keysOnly }),
    );
    expect(composite.key.id).toBe(reordered.key.id);
    expect(composite.key.id).toBe('{"pk":{"B":"/w=="},"sk":{"S":"b"}}');
  });

  it('decodes each stream view type and flags TTL deletes', () => {
    const base = { keys, sequence: '1' };
    expect(decodeOk(streamRecord({ ...base, eventName: 'MODIFY', viewType: 'KEYS_ONLY' })).newImage).toBeUndefined();
    const newOnly = decodeOk(streamRecord({ ...base, eventName: 'MODIFY', viewType: 'NEW_IMAGE', newImage: { a: { N: '1' } } }));
    expect([newOnly.newImage, newOnly.oldImage]).toEqual([{ a: 1 }, undefined]);
    const oldOnly = decodeOk(streamRecord({ ...base, eventName: 'REMOVE', viewType: 'OLD_IMAGE', oldImage: { a: { N: '1' } } }));
    expect([oldOnly.newImage, oldOnly.oldImage]).toEqual([undefined, { a: 1 }]);
    const both = decodeOk(
      streamRecord({ ...base, eventName: 'MODIFY', newImage: { a: { N: '2' } }, oldImage: { a: { N: '1' } } }),
    );
    expect([both.newImage, both.oldImage]).toEqual([{ a: 2 }, { a: 1 }]);
    const expired = decodeOk(streamRecord({ ...base, eventName: 'REMOVE', oldImage: { a: { N: '1' } }, ttl: true }));
    expect(expired.ttlExpiry).toBe(true);
    expect(both.ttlExpiry).toBe(false);
  });
});

describe('malformed records', () => {
  const good = () =>
    streamRecord({ eventName: 'INSERT', keys, sequence: '100000000000000000007', eventID: 'evt-7', newImage: { pk: { S: 'item-1' } } });

  it('names the record and the field when dynamodb is missing', () => {
    const record = good();
    delete record.dynamodb;
    const failure = decodeFailure(record, 3);
    expect(failure.eventID).toBe('evt-7');
    expect(failure.error.code).toBe('MALFORMED_RECORD');
    expect(failure.error.field).toBe('Records[3].dynamodb');
    expect(failure.error.message).toContain('eventID evt-7');
    expect(failure.error.message).toContain('field Records[3].dynamodb');
  });

  it('names the attribute with an unknown type', () => {
    const record = good();
    (record.dynamodb as Record<string, unknown>).NewImage = { pk: { S: 'item-1' }, amount: { Q: '5' } };
    const failure = decodeFailure(record, 1);
    expect(failure.error.message).toMatch(/unknown attribute type "Q"/);
    expect(failure.error.field).toBe('Records[1].dynamodb.NewImage.amount');
    expect(failure.sequence).toBe('100000000000000000007');
    expect(failure.key?.id).toBe('{"pk":{"S":"item-1"}}');
    expect(failure.error.message).toContain('sequence 100000000000000000007');
    expect(failure.error.message).toContain('key {"pk":{"S":"item-1"}}');
  });

  it('names the record when its keys are missing', () => {
    const record = good();
    delete (record.dynamodb as Record<string, unknown>).Keys;
    const failure = decodeFailure(record);
    expect(failure.key).toBeUndefined();
    expect(failure.error.field).toBe('Records[0].dynamodb.Keys');
    expect(failure.sequence).toBe('100000000000000000007');
  });

  it('refuses numbers DynamoDB could never have sent, and deep nesting', () => {
    const record = good();
    (record.dynamodb as Record<string, unknown>).NewImage = { n: { N: '1'.repeat(39) } };
    expect(decodeFailure(record).error.field).toBe('Records[0].dynamodb.NewImage.n.N');
    let deep: unknown = { S: 'bottom' };
    for (let level = 0; level < 40; level += 1) deep = { L: [deep] };
    const nested = good();
    (nested.dynamodb as Record<string, unknown>).NewImage = { deep };
    expect(decodeFailure(nested).error.message).toMatch(/nested deeper than DynamoDB's 32 levels/);
  });

  it('refuses an image its view type says must be there', () => {
    const record = streamRecord({ eventName: 'MODIFY', keys, sequence: '5', viewType: 'NEW_AND_OLD_IMAGES', newImage: {} });
    expect(decodeFailure(record).error.field).toBe('Records[0].dynamodb.OldImage');
  });

  it('with a source table, refuses a record of another table and one that names no table', () => {
    const own = streamRecord({ eventName: 'INSERT', keys, sequence: '7', newImage: keys, table: 'Inventory' });
    const other = streamRecord({ eventName: 'INSERT', keys, sequence: '8', newImage: keys, table: 'Orders' });
    const { eventSourceARN: _arn, ...unnamed } = streamRecord({ eventName: 'INSERT', keys, sequence: '9', newImage: keys });
    const results = decodeRecords([own, other, unnamed], { table: 'Inventory' });
    expect(results.map((result) => result.ok)).toEqual([true, false, false]);
    const [, fromOrders, noTable] = results;
    expect(fromOrders?.ok === false && fromOrders.error.message).toMatch(/from table Orders; this consumer reads Inventory/);
    expect(noTable?.ok === false && noTable.error.message).toMatch(/names no table \(it has no eventSourceARN\); this consumer reads Inventory/);
    expect(noTable?.ok === false && noTable.error.field).toBe('Records[2].eventSourceARN');
    // Without a source table, nothing is checked.
    expect(decodeRecords([unnamed]).map((result) => result.ok)).toEqual([true]);
  });

  it('fails alone: the records beside it decode', () => {
    const bad = good();
    (bad.dynamodb as Record<string, unknown>).SequenceNumber = 'not-a-number';
    const results = decodeRecords([good(), bad, 'not even an object', good()]);
    expect(results.map((result) => result.ok)).toEqual([true, false, false, true]);
    const [, second, third] = results;
    expect(second?.ok === false && second.error.field).toBe('Records[1].dynamodb.SequenceNumber');
    expect(third?.ok === false && isStreamfoldError(third.error, 'MALFORMED_RECORD')).toBe(true);
  });
});
