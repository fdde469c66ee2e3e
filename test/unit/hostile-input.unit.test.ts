import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { decodeCheckpoint, encodeCheckpoint } from '../../adapters/dynamodb/layout.js';
import { defineProjection } from '../../src/projection/define.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { exactNumber } from '../../src/projection/schemas.js';
import { Decimal } from '../../src/records/decimal.js';
import { itemKeyFromKeys } from '../../src/records/item-key.js';
import { MemoryDeadLetterStore } from '../../src/testing/memory-dead-letters.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { testConsumer } from '../support/consumers.js';
import { orderRecord, streamRecord } from '../support/records.js';

const latest = defineProjection({
  name: 'latest',
  version: 1,
  kind: 'view',
  schema: z.object({ orderId: z.string(), status: z.string(), currency: z.string() }),
  evolve: (_state: { status: string } | undefined, event) =>
    event.newImage === undefined ? undefined : { status: event.newImage.status },
});

const keys = { orderId: { S: 'o-1' } };
const brokenKeys = { orderId: { S: 'o-1', N: '1' } };

describe('records that cannot be placed, and hostile values', () => {
  it('with parking off, a record without a readable key is a barrier: nothing after it applies', async () => {
    const broken = streamRecord({ eventName: 'INSERT', keys: brokenKeys, sequence: '100', newImage: {} });
    const later = streamRecord({
      eventName: 'INSERT', keys, sequence: '200', newImage: { orderId: { S: 'o-1' }, status: { S: 'PAID' }, currency: { S: 'EUR' } },
    });
    const report = await testConsumer(new MemoryReadModelStore(), [latest]).process([broken, later]);
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: '100' }]);
    expect(report.stats).toMatchObject({ applied: 0, failed: 2 });
  });

  it('with parking on, a record without a readable key is parked and the others go on', async () => {
    const deadLetters = new MemoryDeadLetterStore();
    const broken = streamRecord({ eventName: 'INSERT', keys: brokenKeys, sequence: '100', newImage: {} });
    const later = streamRecord({
      eventName: 'INSERT', keys, sequence: '200', newImage: { orderId: { S: 'o-1' }, status: { S: 'PAID' }, currency: { S: 'EUR' } },
    });
    const report = await testConsumer(new MemoryReadModelStore(), [latest], deadLetters).process([broken, later]);
    expect(report.batchItemFailures).toEqual([]);
    expect(report.stats).toMatchObject({ applied: 1, parked: 1 });
    const [parked] = deadLetters.records.values();
    expect(parked).toMatchObject({ projection: '*', sequence: '100', record: broken });
    expect(parked?.error.message).toMatch(/exactly one type, found S, N/);
  });

  it('validates an old image only when the projection reads it', async () => {
    const before = { orderId: { S: 'o-1' }, status: { S: 'PLACED' } }; // written before `currency` existed
    const after = { orderId: { S: 'o-1' }, status: { S: 'PAID' }, currency: { S: 'EUR' } };
    const store = new MemoryReadModelStore();
    const report = await testConsumer(store, [latest]).process([
      streamRecord({ eventName: 'MODIFY', keys, sequence: '100', newImage: after, oldImage: before }),
    ]);
    expect(report.batchItemFailures).toEqual([]);
    expect(await readAllRows(store, latest)).toEqual([{ key: { orderId: 'o-1' }, value: { status: 'PAID' } }]);
    const reader = defineProjection({ ...latest, name: 'reads-old', evolve: (_s: object | undefined, event) => ({ was: event.oldImage?.status }) });
    const failing = await testConsumer(new MemoryReadModelStore(), [reader]).process([
      streamRecord({ eventName: 'MODIFY', keys, sequence: '100', newImage: after, oldImage: before }),
    ]);
    expect(failing.errors[0]?.field).toBe('dynamodb.OldImage.currency');
  });

  it('fails only the record whose view row DynamoDB could not store', async () => {
    const dated = defineProjection({
      name: 'dated', version: 1, kind: 'view', schema: customerTotals.schema,
      evolve: (_s: object | undefined, event) => ({ at: event.newImage?.orderId === 'bad' ? new Date(0) : 'ok' }),
    });
    const deadLetters = new MemoryDeadLetterStore();
    const good = { orderId: 'good', customerId: 'c', status: 'PLACED', amount: 1 };
    const bad = { orderId: 'bad', customerId: 'c', status: 'PLACED', amount: 1 };
    const store = new MemoryReadModelStore();
    const report = await testConsumer(store, [dated], deadLetters).process([orderRecord('100', good), orderRecord('200', bad)]);
    expect(report.stats).toMatchObject({ applied: 1, parked: 1 });
    expect([...deadLetters.records.values()][0]?.error.message).toMatch(/cannot store object in DynamoDB.*field value.at/);
    expect(await readAllRows(store, dated)).toEqual([{ key: { orderId: 'good' }, value: { at: 'ok' } }]);
  });

  it('fails a sum change that needs more than 38 digits, naming the field', async () => {
    const decimalTotals = defineProjection({
      name: 'decimal-totals', version: 1, kind: 'sum',
      schema: z.object({ customerId: z.string(), amount: exactNumber }),
      contribute: (order) => ({ [order.customerId]: { amount: order.amount } }),
    });
    const image = (amount: string) => ({ orderId: { S: 'o' }, customerId: { S: 'c' }, amount: { N: amount } });
    const consumer = testConsumer(new MemoryReadModelStore(), [decimalTotals]);
    await consumer.process([
      streamRecord({ eventName: 'INSERT', keys: { orderId: { S: 'o' } }, sequence: '100', newImage: image('0.0000000001') }),
    ]);
    const report = await consumer.process([
      streamRecord({ eventName: 'MODIFY', keys: { orderId: { S: 'o' } }, sequence: '200', newImage: image('1E+30'), oldImage: image('0.0000000001') }),
    ]);
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: '200' }]);
    expect(report.errors[0]?.message).toMatch(/the change to c\.amount cannot be added in DynamoDB: .*40 significant digits; DynamoDB keeps 38/);
  });

  it('keeps a sum group named __proto__ as an entry of the stored checkpoint', () => {
    const key = itemKeyFromKeys(keys, 'Keys');
    const contribution = new Map([['__proto__', new Map([['amount', Decimal.parse('5')]])]]);
    const item = encodeCheckpoint('default', key, {
      revision: 1,
      entries: new Map([['customer-totals#v1', { sequence: '1', contribution }]]),
    });
    const decoded = decodeCheckpoint(item).entries.get('customer-totals#v1')?.contribution;
    expect([...(decoded?.keys() ?? [])]).toEqual(['__proto__']);
    expect(decoded?.get('__proto__')?.get('amount')?.toString()).toBe('5');
  });

  it('refuses a hostile run of zeros without expanding it', () => {
    expect(() => Decimal.parse(`1${'0'.repeat(200_000)}`)).toThrow(/exponent out of range/);
    expect(() => Decimal.parse(`0.${'0'.repeat(200_000)}1`)).toThrow(/exponent out of range/);
    expect(() => Decimal.parse('9'.repeat(5_000))).toThrow(/more than 1000 significant digits/);
    expect(() => Decimal.parse('1E+5000').assertStorable()).toThrow(/^1E\+5000 is outside/);
  });
});
