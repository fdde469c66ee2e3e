import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher, entrySize } from '../../adapters/eventbridge/publisher.js';
import { messages, noSleep } from '../support/messages.js';

const eventBridge = mockClient(EventBridgeClient);
afterEach(() => eventBridge.reset());

const publisher = (maxEntryBytes?: number) =>
  new EventBridgePublisher({
    client: new EventBridgeClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    eventBusName: 'orders',
    sleep: noSleep,
    ...(maxEntryBytes === undefined ? {} : { maxEntryBytes }),
  });
const calls = (): PutEventsCommandInput[] => eventBridge.commandCalls(PutEventsCommand).map((call) => call.args[0].input);
const details = (input: PutEventsCommandInput) => (input.Entries ?? []).map((entry) => JSON.parse(entry.Detail ?? '{}').n as string);

describe('EventBridgePublisher', () => {
  it('sends at most 10 entries a call', async () => {
    eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
      FailedEntryCount: 0,
      Entries: (input.Entries ?? []).map((_, index) => ({ EventId: `id-${index}` })),
    }));
    const outcomes = await publisher().publish(messages(25));
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(calls().map((input) => input.Entries?.length)).toEqual([10, 10, 5]);
    expect(calls()[0]?.Entries?.[0]).toMatchObject({ EventBusName: 'orders', Source: 'streamfold', DetailType: 'Orders.MODIFY' });
  });

  it('keeps each call within the byte limit', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    await publisher().publish(messages(6, { bodyBytes: 400_000 }));
    const sizes = calls().map((input) => (input.Entries ?? []).reduce((total, entry) => total + entrySize(entry), 0));
    expect(calls().map((input) => input.Entries?.length)).toEqual([2, 2, 2]);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(1_048_576);
  });

  it('retries exactly the entries the response marks as failed', async () => {
    let call = 0;
    eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
      call += 1;
      const entries = input.Entries ?? [];
      if (call > 1) return { FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: 'ok' })) };
      return {
        FailedEntryCount: 2,
        Entries: entries.map((_, index) =>
          index === 3 || index === 7 ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' } : { EventId: `id-${index}` },
        ),
      };
    });
    const outcomes = await publisher().publish(messages(10));
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(calls().map(details)).toEqual([['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], ['3', '7']]);
  });

  it('reports an entry that keeps failing as retryable, and one the service calls malformed at once', async () => {
    eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
      FailedEntryCount: 2,
      Entries: (input.Entries ?? []).map((entry) => {
        const n = JSON.parse(entry.Detail ?? '{}').n;
        if (n === '1') return { ErrorCode: 'InternalFailure' };
        if (n === '2') return { ErrorCode: 'MalformedDetail', ErrorMessage: 'bad detail' };
        return { EventId: 'ok' };
      }),
    }));
    const outcomes = await publisher().publish(messages(3));
    expect(outcomes[0]).toEqual({ ok: true });
    expect(outcomes[1]).toMatchObject({ ok: false, retryable: true });
    expect(outcomes[2]).toMatchObject({ ok: false, retryable: false });
    expect(calls().filter((input) => details(input).includes('2'))).toHaveLength(1);
    expect(calls().filter((input) => details(input).includes('1'))).toHaveLength(5);
  });

  it('refuses an oversized entry before sending, naming its record, and sends the rest', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const batch = messages(3);
    const big = { ...batch[1]!, body: JSON.stringify({ n: '1', pad: 'x'.repeat(300_000) }) };
    const outcomes = await publisher(262_144).publish([batch[0]!, big, batch[2]!]);
    expect(outcomes[1]).toMatchObject({ ok: false, retryable: false });
    const error = outcomes[1]?.ok === false ? outcomes[1].error : undefined;
    expect(error?.message).toMatch(/the EventBridge entry is \d+ bytes, over the 262144-byte limit/);
    expect(error).toMatchObject({ eventID: 'evt-1', key: '{"orderId":{"S":"o-1"}}', sequence: '100000000000000000001' });
    expect(calls().flatMap(details)).toEqual(['0', '2']);
  });
});
