import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { runtimesOf } from '../../src/catalog/lanes.js';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { SqsPublisher } from '../../adapters/sqs/publisher.js';
import { StreamConsumer } from '../../src/consumer/consumer.js';
import { defineEventLog, defineEventProjection } from '../../src/eventlog/define.js';
import { defineFanOut } from '../../src/fanout/define.js';
import { FanOutDispatcher } from '../../src/fanout/dispatcher.js';
import type { OutgoingMessage, Publisher } from '../../src/fanout/ports.js';
import { StreamfoldError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logging.js';
import { defineProjection } from '../../src/projection/define.js';
import type { LoadedState, ReadModelStore } from '../../src/projection/ports.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { MemoryDeadLetterStore } from '../../src/testing/memory-dead-letters.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { orderHistory, revenuePerDay } from '../../projections/event-sourced/index.js';
import { testConsumer, testRedriver } from '../support/consumers.js';
import { orderRecord, streamRecord, wire } from '../support/records.js';
import { noSleep } from '../support/messages.js';

const Strict = z.object({ orderId: z.string(), amount: z.number() });
const Lenient = z.object({ orderId: z.string(), amount: z.union([z.number(), z.string().transform(Number)]) });
const amounts = (schema: typeof Strict | typeof Lenient, onPoison?: 'wait' | 'skip') =>
  defineProjection({
    name: 'amounts',
    version: 1,
    kind: 'view',
    schema,
    ...(onPoison === undefined ? {} : { onPoison }),
    evolve: (_state: { amount: number } | undefined, event) => (event.newImage === undefined ? undefined : { amount: Number(event.newImage.amount) }),
  });
const order = (sequence: string, amount: unknown) => orderRecord(sequence, { orderId: 'o-1', customerId: 'c', status: 'S', amount: amount as number });

let sequence = 100;
const streamSequenceOf = (record: unknown) => (record as { dynamodb: { SequenceNumber: string } }).dynamodb.SequenceNumber;
const event = (streamId: string, version: number, type: string, payload: Record<string, unknown>) =>
  streamRecord({
    eventName: 'INSERT',
    keys: wire({ streamId, version }),
    sequence: String((sequence += 1)),
    newImage: wire({ streamId, version, type, payload }),
    table: 'OrderEvents',
  });

function eventConsumer(store: ReadModelStore, options: { fanOut?: FanOutDispatcher; parking?: boolean } = {}) {
  const deadLetters = options.parking === false ? undefined : new MemoryDeadLetterStore();
  return new StreamConsumer(runtimesOf([orderHistory, revenuePerDay], store, silentLogger, { deadLetters, sleep: noSleep }), silentLogger, options.fanOut);
}

describe('redrive, at the edges', () => {
  it('applies a parked record of a skipping projection that nothing came after', async () => {
    const store = new MemoryReadModelStore();
    const deadLetters = new MemoryDeadLetterStore();
    await testConsumer(store, [amounts(Strict, 'skip')], deadLetters).process([order('100000000000000000001', '12')]);
    const result = await testRedriver(store, [amounts(Lenient, 'skip')], deadLetters).redrive();
    expect(result.applied).toHaveLength(1);
    expect(await readAllRows(store, amounts(Lenient))).toEqual([{ key: { orderId: 'o-1' }, value: { amount: 12 } }]);
  });

  it('loses nothing the live consumer parks while a redrive runs', async () => {
    const store = new MemoryReadModelStore();
    const deadLetters = new MemoryDeadLetterStore();
    const live = testConsumer(store, [amounts(Strict)], deadLetters);
    await live.process([order('100000000000000000001', '12'), order('100000000000000000002', 13)]);
    let fired = false;
    const racing: ReadModelStore = {
      load: async (keys, views): Promise<LoadedState> => {
        if (!fired) {
          fired = true; // the live consumer parks the item's next change just before the redrive reads
          await live.process([order('100000000000000000003', 14)]);
        }
        return store.load(keys, views);
      },
      commit: (writes) => store.commit(writes),
    };
    const redriver = testRedriver(racing, [amounts(Lenient)], deadLetters);
    await redriver.redrive();
    await redriver.redrive();
    expect(await readAllRows(store, amounts(Lenient))).toEqual([{ key: { orderId: 'o-1' }, value: { amount: 14 } }]);
    expect(deadLetters.records.size).toBe(0);
  });
});

describe('event logs, at the edges', () => {
  it('counts an event applied from the held set once, however many projections apply it', async () => {
    const consumer = eventConsumer(new MemoryReadModelStore());
    await consumer.process([event('o-9', 2, 'OrderLineAdded', { sku: 'fig', quantity: 1, price: 500 })]);
    const report = await consumer.process([event('o-9', 1, 'OrderPlaced', { customerId: 'c', placedAt: '2026-11-02T10:00:00Z' })]);
    expect(report.stats.applied).toBe(2);
  });

  it('writes an event view whose evolve() changes the state it is given', async () => {
    const log = defineEventLog({
      streamId: 'streamId', version: 'version', type: 'type', payload: 'payload',
      events: z.discriminatedUnion('type', [z.object({ type: z.literal('Tick'), payload: z.object({}) })]),
    });
    const counter = defineEventProjection({
      name: 'ticks', version: 1, kind: 'event-view', log,
      evolve: (state: { ticks: number } | undefined) => {
        const next = state ?? { ticks: 0 };
        next.ticks += 1;
        return next;
      },
    });
    // Like DynamoDB, a fresh copy of each row on every read.
    const inner = new MemoryReadModelStore();
    const store: ReadModelStore = {
      load: async (keys, views) => {
        const loaded = await inner.load(keys, views);
        return { checkpoints: loaded.checkpoints, viewRows: new Map([...loaded.viewRows].map(([id, row]) => [id, structuredClone(row)])) };
      },
      commit: (writes) => inner.commit(writes),
    };
    const consumer = new StreamConsumer(runtimesOf([counter], store, silentLogger, { sleep: noSleep }), silentLogger);
    for (let version = 1; version <= 3; version += 1) await consumer.process([event('s-1', version, 'Tick', {})]);
    expect((await readAllRows(inner, counter))[0]?.value).toEqual({ ticks: 3 });
  });

  it('publishes an event held behind a gap only when it applies, in version order', async () => {
    const sent: OutgoingMessage[] = [];
    const publisher: Publisher = { publish: async (messages) => (sent.push(...messages), messages.map(() => ({ ok: true }))) };
    const fanOut = new FanOutDispatcher([{ fanOut: defineFanOut({ name: 'q', target: 'sqs' }), publisher }], silentLogger, undefined);
    const consumer = eventConsumer(new MemoryReadModelStore(), { fanOut });
    await consumer.process([event('o-1', 1, 'OrderPlaced', { customerId: 'c', placedAt: '2026-11-02T10:00:00Z' })]);
    await consumer.process([event('o-1', 3, 'OrderPaid', { amount: 500, paidAt: '2026-11-02T12:00:00Z' })]);
    expect(sent.map((message) => message.sequence)).toEqual(['1']);
    await consumer.process([event('o-1', 2, 'OrderLineAdded', { sku: 'fig', quantity: 1, price: 500 })]);
    expect(sent.map((message) => message.sequence)).toEqual(['1', '2', '3']);
  });

  /** A publisher that fails, for now, the messages of the versions it is told to, then sends everything. */
  function flakyPublisher(failing: Set<string>) {
    const sent: string[] = [];
    const publisher: Publisher = {
      publish: async (messages) =>
        messages.map((message) => {
          if (failing.delete(message.sequence)) {
            return { ok: false, retryable: true, error: new StreamfoldError('STORE_WRITE_FAILED', 'throttled', { retryable: true }) };
          }
          sent.push(message.sequence);
          return { ok: true };
        }),
    };
    return { sent, publisher };
  }

  it('publishes an event log\'s message again when Lambda delivers its record again', async () => {
    const { sent, publisher } = flakyPublisher(new Set(['2']));
    const fanOut = new FanOutDispatcher([{ fanOut: defineFanOut({ name: 'q', target: 'sqs' }), publisher }], silentLogger, new MemoryDeadLetterStore());
    const consumer = eventConsumer(new MemoryReadModelStore(), { fanOut });
    const batch = [
      event('o-1', 1, 'OrderPlaced', { customerId: 'c', placedAt: '2026-11-02T10:00:00Z' }),
      event('o-1', 2, 'OrderLineAdded', { sku: 'fig', quantity: 1, price: 500 }),
    ];
    const first = await consumer.process(batch);
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: streamSequenceOf(batch[1]) }]);
    const again = await consumer.process(batch.slice(1));
    expect(again.batchItemFailures).toEqual([]);
    expect(sent).toEqual(['1', '2']);
  });

  it('parks the message of an event that had waited behind a gap when it does not go out', async () => {
    const { sent, publisher } = flakyPublisher(new Set(['2']));
    const parked = new MemoryDeadLetterStore();
    const fanOut = new FanOutDispatcher([{ fanOut: defineFanOut({ name: 'q', target: 'sqs' }), publisher }], silentLogger, parked);
    const consumer = eventConsumer(new MemoryReadModelStore(), { fanOut });
    await consumer.process([event('o-1', 2, 'OrderLineAdded', { sku: 'fig', quantity: 1, price: 500 })]);
    // Version 2 applies now from the checkpoint: no redelivery of this batch would bring it back.
    const report = await consumer.process([event('o-1', 1, 'OrderPlaced', { customerId: 'c', placedAt: '2026-11-02T10:00:00Z' })]);
    expect(report.batchItemFailures).toEqual([]);
    expect(sent).toEqual(['1']);
    const listed = [];
    for await (const record of parked.list()) listed.push(record);
    expect(listed).toEqual([expect.objectContaining({ projection: 'fan-out:q', sequence: '2', error: expect.objectContaining({ message: expect.stringContaining('throttled') }) })]);
  });

  it('reports a change to an event item as failed when parking is off', async () => {
    const item = wire({ streamId: 'o-1', version: 1, type: 'OrderPlaced', payload: { customerId: 'c', placedAt: 'x' } });
    const report = await eventConsumer(new MemoryReadModelStore(), { parking: false }).process([
      streamRecord({ eventName: 'MODIFY', keys: wire({ streamId: 'o-1', version: 1 }), sequence: '200', newImage: item, oldImage: item, table: 'OrderEvents' }),
    ]);
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: '200' }]);
  });
});

describe('SQS FIFO, at the edges', () => {
  it('parks an oversized message and sends its item\'s later messages, in order, one per call', async () => {
    const sqs = mockClient(SQSClient);
    const sent: string[][] = [];
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      sent.push((input.Entries ?? []).map((entry) => String(JSON.parse(entry.MessageBody ?? '{}').sequence)));
      return { Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'x' })), Failed: [] };
    });
    const publisher = new SqsPublisher({
      client: new SQSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q.fifo',
      maxMessageBytes: 1000,
      sleep: noSleep,
    });
    const message = (sequence: string, body: string): OutgoingMessage => ({
      eventID: `e${sequence}`, key: 'K', sequence, body, detailType: 'd', source: 's', time: undefined,
    });
    const body = (sequence: string) => JSON.stringify({ sequence });
    const outcomes = await publisher.publish([message('1', 'x'.repeat(2000)), message('3', body('3')), message('2', body('2'))]);
    sqs.restore();
    expect(sent).toEqual([['2'], ['3']]);
    expect(outcomes.map((outcome) => (outcome.ok ? 'sent' : outcome.retryable ? 'later' : 'never'))).toEqual(['never', 'sent', 'sent']);
  });
});
