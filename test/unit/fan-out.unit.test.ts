import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { runtimesOf } from '../../src/catalog/lanes.js';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../adapters/eventbridge/publisher.js';
import { StreamConsumer } from '../../src/consumer/consumer.js';
import { defineFanOut } from '../../src/fanout/define.js';
import { FanOutDispatcher } from '../../src/fanout/dispatcher.js';
import { silentLogger } from '../../src/core/logging.js';
import { decodeRecords } from '../../src/records/decode.js';
import { MemoryDeadLetterStore } from '../../src/testing/memory-dead-letters.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import examples from '../../projections/index.js';
import { noSleep } from '../support/messages.js';
import { orderRecord } from '../support/records.js';

const eventBridge = mockClient(EventBridgeClient);
afterEach(() => eventBridge.reset());

function consumerWith(fanOut = defineFanOut({ name: 'bus', target: 'eventbridge' }), deadLetters?: MemoryDeadLetterStore) {
  const store = new MemoryReadModelStore();
  const publisher = new EventBridgePublisher({
    client: new EventBridgeClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    eventBusName: 'orders',
    sleep: noSleep,
  });
  const runtime = runtimesOf(examples, store, silentLogger, { sleep: noSleep, deadLetters });
  const dispatcher = new FanOutDispatcher([{ fanOut, publisher }], silentLogger, deadLetters);
  return { store, consumer: new StreamConsumer(runtime, silentLogger, dispatcher) };
}

const order = (orderId: string, amount: number | bigint) => ({ orderId, customerId: 'c-1', status: 'PLACED', amount });
const sent = () => eventBridge.commandCalls(PutEventsCommand).flatMap((call) => call.args[0].input.Entries ?? []);

describe('fan-out after the projections', () => {
  it('publishes every applied change with numbers as strings and a DetailType per kind', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const { consumer } = consumerWith();
    const huge = 123456789012345678901234567890n;
    const report = await consumer.process([
      orderRecord('100000000000000000001', order('o-1', huge)),
      orderRecord('100000000000000000002', order('o-1', 7), order('o-1', huge)),
    ]);
    expect(report.stats.published).toBe(2);
    const [first, second] = sent();
    expect(first).toMatchObject({ Source: 'streamfold', DetailType: 'Orders.INSERT', EventBusName: 'orders' });
    expect(second?.DetailType).toBe('Orders.MODIFY');
    expect(JSON.parse(first?.Detail ?? '{}')).toEqual({
      eventID: 'evt-100000000000000000001',
      kind: 'insert',
      key: { orderId: 'o-1' },
      sequence: '100000000000000000001',
      time: '2025-11-24T16:00:00.000Z',
      table: 'Orders',
      newImage: { orderId: 'o-1', customerId: 'c-1', status: 'PLACED', amount: huge.toString() },
      oldImage: null,
    });
    expect(JSON.parse(second?.Detail ?? '{}').oldImage.amount).toBe(huge.toString());
  });

  it('reports the lowest sequence whose message could not go out, per item, after the retries', async () => {
    eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
      FailedEntryCount: 1,
      Entries: (input.Entries ?? []).map((entry) =>
        JSON.parse(entry.Detail ?? '{}').sequence === '100000000000000000003' ? { ErrorCode: 'ThrottlingException' } : { EventId: 'ok' },
      ),
    }));
    const { consumer, store } = consumerWith();
    const report = await consumer.process([
      orderRecord('100000000000000000001', order('o-1', 1)),
      orderRecord('100000000000000000002', order('o-2', 1)),
      orderRecord('100000000000000000003', order('o-2', 2), order('o-2', 1)),
      orderRecord('100000000000000000004', order('o-3', 1)),
    ]);
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: '100000000000000000003' }]);
    expect(report.stats).toMatchObject({ published: 3, failedKeys: 1 });
    // The projections applied all four; the redelivery Lambda makes is a no-op for them.
    const again = await consumer.process([
      orderRecord('100000000000000000003', order('o-2', 2), order('o-2', 1)),
      orderRecord('100000000000000000004', order('o-3', 1)),
    ]);
    expect(again.stats).toMatchObject({ applied: 0, stale: 2 });
    void store;
  });

  it('parks a message that can never go out and goes on with the rest', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const deadLetters = new MemoryDeadLetterStore();
    const picky = defineFanOut({
      name: 'picky',
      target: 'eventbridge',
      message: (event) => {
        if (event.key.attributes.orderId === 'o-2') throw new Error('cannot describe o-2');
        return { id: event.eventID };
      },
    });
    const { consumer } = consumerWith(picky, deadLetters);
    const report = await consumer.process([
      orderRecord('100000000000000000001', order('o-1', 1)),
      orderRecord('100000000000000000002', order('o-2', 1)),
    ]);
    expect(report.batchItemFailures).toEqual([]);
    expect(report.stats).toMatchObject({ published: 1, parked: 1 });
    const [parked] = deadLetters.records.values();
    expect(parked).toMatchObject({ projection: 'fan-out:picky', sequence: '100000000000000000002' });
    expect(parked?.error.message).toMatch(/fan-out picky: cannot describe o-2/);
  });

  it('skips events replayed by a rebuild unless asked, and honours select', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const onlyRemoves = defineFanOut({ name: 'removes', target: 'eventbridge', select: (event) => event.kind === 'remove' });
    const { consumer } = consumerWith(onlyRemoves);
    await consumer.process([
      orderRecord('100000000000000000001', order('o-1', 1)),
      orderRecord('100000000000000000002', undefined, order('o-1', 1)),
    ]);
    expect(sent().map((entry) => entry.DetailType)).toEqual(['Orders.REMOVE']);
    eventBridge.resetHistory();

    const [decoded] = decodeRecords([orderRecord('100000000000000000005', order('o-5', 1))]);
    if (decoded?.ok !== true) throw new Error('decode');
    const replayed = { ...decoded.event, replay: true };
    const run = { key: replayed.key, steps: [{ type: 'event' as const, sequence: replayed.sequence, identifier: replayed.sequence, event: replayed, record: decoded.record }] };
    const publisher = new EventBridgePublisher({ client: new EventBridgeClient({ region: 'eu-west-1' }), eventBusName: 'b', sleep: noSleep });
    const live = new FanOutDispatcher([{ fanOut: defineFanOut({ name: 'live', target: 'eventbridge' }), publisher }], silentLogger, undefined);
    expect((await live.dispatch([{ run, stopAt: undefined }])).published).toBe(0);
    const all = defineFanOut({ name: 'all', target: 'eventbridge', includeReplays: true });
    const everything = new FanOutDispatcher([{ fanOut: all, publisher }], silentLogger, undefined);
    expect((await everything.dispatch([{ run, stopAt: undefined }])).published).toBe(1);
    expect(JSON.parse(sent()[0]?.Detail ?? '{}').replay).toBe(true);
  });
});
