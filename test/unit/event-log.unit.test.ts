import { describe, expect, it } from 'vitest';
import { testRedriver } from '../support/consumers.js';
import { runtimesOf } from '../../src/catalog/lanes.js';
import { StreamConsumer } from '../../src/consumer/consumer.js';
import { silentLogger } from '../../src/core/logging.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { MemoryDeadLetterStore } from '../../src/testing/memory-dead-letters.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import * as z from 'zod';
import { defineEventLog, defineEventProjection, type EventProjection } from '../../src/eventlog/define.js';
import { OrderEvent, orderEvents, orderHistory, revenuePerDay } from '../../projections/event-sourced/index.js';
import { streamRecord, wire } from '../support/records.js';
import { noSleep } from '../support/messages.js';

function consumer() {
  const store = new MemoryReadModelStore();
  const deadLetters = new MemoryDeadLetterStore();
  return { store, deadLetters, consumer: new StreamConsumer(runtimesOf([orderHistory, revenuePerDay], store, silentLogger, { deadLetters, sleep: noSleep }), silentLogger) };
}

let sequence = 100;
const event = (streamId: string, version: number, type: string, payload: Record<string, unknown>, eventName: 'INSERT' | 'MODIFY' | 'REMOVE' = 'INSERT') => {
  const item = wire({ streamId, version, type, payload });
  return streamRecord({
    eventName,
    keys: wire({ streamId, version }),
    sequence: String((sequence += 1)),
    ...(eventName === 'REMOVE' ? { oldImage: item } : { newImage: item }),
    ...(eventName === 'MODIFY' ? { oldImage: item } : {}),
    table: 'OrderEvents',
  });
};

describe('event logs', () => {
  it('reports a change to an event item as misuse, parks it, and folds nothing of it', async () => {
    const { store, deadLetters, consumer: events } = consumer();
    const placed = event('o-1', 1, 'OrderPlaced', { customerId: 'c-1', placedAt: '2026-11-01T00:00:00Z' });
    const rewritten = event('o-1', 1, 'OrderPlaced', { customerId: 'c-9', placedAt: '2026-11-01T00:00:00Z' }, 'MODIFY');
    const erased = event('o-1', 1, 'OrderPlaced', { customerId: 'c-1', placedAt: '2026-11-01T00:00:00Z' }, 'REMOVE');
    const report = await events.process([placed, rewritten, erased]);
    expect(report.batchItemFailures).toEqual([]);
    expect(report.stats).toMatchObject({ applied: 1, misuse: 2 });
    const rows = await readAllRows(store, orderHistory);
    expect(rows.map((row) => row.value.customerId)).toEqual(['c-1']);
    const parked = [...deadLetters.records.values()];
    expect(parked.map((record) => record.error.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/an event log is append-only: this modify of an event item is not folded/)]),
    );
  });

  it('adds each payment to its day once, however often and in whatever order the events come', async () => {
    const { store, consumer: events } = consumer();
    const paid = event('o-1', 3, 'OrderPaid', { amount: 500, paidAt: '2026-11-02T12:00:00Z' });
    const line = event('o-1', 2, 'OrderLineAdded', { sku: 'fig', quantity: 1, price: 500 });
    const placed = event('o-1', 1, 'OrderPlaced', { customerId: 'c-1', placedAt: '2026-11-02T10:00:00Z' });
    await events.process([paid, paid]);
    expect(await readAllRows(store, revenuePerDay)).toEqual([]); // version 3 waits for 1 and 2
    await events.process([line, paid]);
    await events.process([placed, line, placed]);
    expect(await readAllRows(store, revenuePerDay)).toEqual([{ key: '2026-11-02', value: { revenue: 500, payments: 1 } }]);
    const [history] = await readAllRows(store, orderHistory);
    expect(history?.value.history).toEqual(['1:OrderPlaced', '2:OrderLineAdded', '3:OrderPaid']);
  });

  it('parks a poison event and the stream\'s later events behind it, and a redrive after the fix applies them in order', async () => {
    const { store, deadLetters, consumer: events } = consumer();
    const placed = event('o-7', 1, 'OrderPlaced', { customerId: 'c-1', placedAt: '2026-11-03T10:00:00Z' });
    const poison = event('o-7', 2, 'OrderLineAdded', { sku: 'fig', quantity: 1, price: '1,200' });
    const paid = event('o-7', 3, 'OrderPaid', { amount: 1200, paidAt: '2026-11-03T12:00:00Z' });
    const shipped = event('o-7', 4, 'OrderShipped', { carrier: 'ups' });
    const report = await events.process([shipped, placed, paid, poison]);
    expect(report.batchItemFailures).toEqual([]);
    const history = async () => (await readAllRows(store, orderHistory))[0]?.value.history;
    expect(await history()).toEqual(['1:OrderPlaced']);
    const parked = [...deadLetters.records.values()].filter((record) => record.projection === 'order-history');
    expect(parked.map((record) => [record.sequence, record.reason])).toEqual([
      ['2', 'failed'],
      ['3', 'waiting'],
      ['4', 'waiting'],
    ]);

    // The fix: prices written as formatted text are read.
    const fixedLog = defineEventLog({
      ...orderEvents,
      events: z.discriminatedUnion('type', [
        ...(OrderEvent.options.filter((option) => option.shape.type.value !== 'OrderLineAdded') as [(typeof OrderEvent.options)[number]]),
        z.object({
          type: z.literal('OrderLineAdded'),
          payload: z.object({ sku: z.string(), quantity: z.number(), price: z.union([z.number(), z.string().transform((text) => Number(text.replace(',', '')))]) }),
        }),
      ]),
    });
    const fixed = defineEventProjection({ ...orderHistory, log: fixedLog } as never) as EventProjection;
    const result = await testRedriver(store, [fixed], deadLetters).redrive({ projection: 'order-history' });
    expect(result.applied.map((record) => record.sequence)).toEqual(['2', '3', '4']);
    expect(result.stillParked).toEqual([]);
    expect(await history()).toEqual(['1:OrderPlaced', '2:OrderLineAdded', '3:OrderPaid', '4:OrderShipped']);
    expect([...deadLetters.records.values()].filter((record) => record.projection === 'order-history')).toEqual([]);
  });

  it('names the attribute of an event that does not match the log', async () => {
    const { deadLetters, consumer: events } = consumer();
    await events.process([event('o-2', 1, 'OrderPlaced', { customerId: 7 })]);
    const [parked] = deadLetters.records.values();
    expect(parked?.error.field).toBe('dynamodb.NewImage.payload.customerId');
  });
});
