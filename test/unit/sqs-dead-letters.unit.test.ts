import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { SqsDeadLetterStore } from '../../adapters/sqs/dead-letters.js';
import { silentLogger } from '../../src/core/logging.js';
import { defineProjection } from '../../src/projection/define.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { testConsumer, testRedriver } from '../support/consumers.js';
import { noSleep } from '../support/messages.js';
import { orderRecord } from '../support/records.js';

const sqs = mockClient(SQSClient);
afterEach(() => sqs.reset());

/** A queue's visible behaviour, enough for parking: send, receive (hiding), show again, delete. */
function fakeQueue() {
  const messages = new Map<string, { body: string; visible: boolean }>();
  let next = 0;
  sqs.on(SendMessageBatchCommand).callsFake((input) => {
    for (const entry of input.Entries ?? []) messages.set(`h-${next++}`, { body: entry.MessageBody, visible: true });
    return { Successful: (input.Entries ?? []).map((entry: { Id: string }) => ({ Id: entry.Id })), Failed: [] };
  });
  sqs.on(ReceiveMessageCommand).callsFake((input) => {
    const visible = [...messages].filter(([, message]) => message.visible).slice(0, input.MaxNumberOfMessages ?? 1);
    for (const [, message] of visible) message.visible = false;
    return { Messages: visible.map(([handle, message]) => ({ ReceiptHandle: handle, Body: message.body })) };
  });
  sqs.on(ChangeMessageVisibilityBatchCommand).callsFake((input) => {
    for (const entry of input.Entries ?? []) {
      const message = messages.get(entry.ReceiptHandle);
      if (message !== undefined) message.visible = true;
    }
    return { Successful: [], Failed: [] };
  });
  sqs.on(DeleteMessageBatchCommand).callsFake((input) => {
    for (const entry of input.Entries ?? []) messages.delete(entry.ReceiptHandle);
    return { Successful: [], Failed: [] };
  });
  return messages;
}

const Strict = z.object({ orderId: z.string(), amount: z.number() });
const Lenient = z.object({ orderId: z.string(), amount: z.union([z.number(), z.string().transform(Number)]) });
const amounts = (schema: typeof Strict | typeof Lenient) =>
  defineProjection({
    name: 'amounts',
    version: 1,
    kind: 'view',
    schema,
    evolve: (_state: { amount: number } | undefined, event) =>
      event.newImage === undefined ? undefined : { amount: Number(event.newImage.amount) },
  });

describe('parking in an SQS queue', () => {
  it('parks the record with its error, lists it without consuming it, and redrive deletes it once applied', async () => {
    const queue = fakeQueue();
    const deadLetters = new SqsDeadLetterStore({
      client: new SQSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
      queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/parked',
    });
    const store = new MemoryReadModelStore();
    const bad = orderRecord('100000000000000000001', { orderId: 'o-1', customerId: 'c', status: 'S', amount: '12' as unknown as number });
    const later = orderRecord('100000000000000000002', { orderId: 'o-1', customerId: 'c', status: 'S', amount: 13 });
    const report = await testConsumer(store, [amounts(Strict)], deadLetters).process([bad, later]);
    expect(report.stats.parked).toBe(2);
    expect(queue.size).toBe(2);

    const listed = [];
    for await (const record of deadLetters.list()) listed.push(record);
    expect(listed.map((record) => [record.reason, record.sequence])).toEqual([
      ['failed', '100000000000000000001'],
      ['waiting', '100000000000000000002'],
    ]);
    expect(listed[0]?.error.field).toBe('dynamodb.NewImage.amount');
    expect([...queue.values()].every((message) => message.visible)).toBe(true);

    const result = await testRedriver(store, [amounts(Lenient)], deadLetters).redrive();
    expect(result.applied).toHaveLength(2);
    expect(queue.size).toBe(0);
    expect(await readAllRows(store, amounts(Lenient))).toEqual([{ key: { orderId: 'o-1' }, value: { amount: 13 } }]);
  });
});
