import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SqsPublisher } from '../../adapters/sqs/publisher.js';
import { messages, noSleep } from '../support/messages.js';

const sqs = mockClient(SQSClient);
afterEach(() => sqs.reset());

const publisher = (queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders') =>
  new SqsPublisher({
    client: new SQSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    queueUrl,
    sleep: noSleep,
  });
const calls = (): SendMessageBatchCommandInput[] => sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
const bodies = (input: SendMessageBatchCommandInput) => (input.Entries ?? []).map((entry) => JSON.parse(entry.MessageBody ?? '{}').n as string);
const allSucceed = (input: SendMessageBatchCommandInput) => ({
  Successful: (input.Entries ?? []).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
  Failed: [],
});

describe('SqsPublisher', () => {
  it('sends at most 10 messages a call and keeps each batch within 1 MiB', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(allSucceed);
    await publisher().publish(messages(23));
    expect(calls().map((input) => input.Entries?.length)).toEqual([10, 10, 3]);
    sqs.resetHistory();
    await publisher().publish(messages(5, { bodyBytes: 300_000 }));
    expect(calls().map((input) => input.Entries?.length)).toEqual([3, 2]);
  });

  it('retries exactly the failed entries, and reports sender faults at once', async () => {
    let call = 0;
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      call += 1;
      if (call > 1) return allSucceed(input);
      const entries = input.Entries ?? [];
      return {
        Successful: entries.filter((_, index) => index !== 2 && index !== 5).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
        Failed: [
          { Id: entries[2]?.Id, SenderFault: false, Code: 'InternalError' },
          { Id: entries[5]?.Id, SenderFault: true, Code: 'InvalidParameterValue', Message: 'bad attribute' },
        ],
      };
    });
    const outcomes = await publisher().publish(messages(8));
    expect(calls().map(bodies)).toEqual([['0', '1', '2', '3', '4', '5', '6', '7'], ['2']]);
    expect(outcomes[2]).toEqual({ ok: true });
    expect(outcomes[5]).toMatchObject({ ok: false, retryable: false });
    expect(outcomes[5]?.ok === false && outcomes[5].error.message).toMatch(/InvalidParameterValue bad attribute/);
  });

  it('on a FIFO queue groups by item and deduplicates by eventID, sending each item\'s messages in order', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(allSucceed);
    const shuffled = messages(6, { perKey: 3 }).reverse(); // two items, three changes each, newest first
    const outcomes = await publisher('https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo').publish(shuffled);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    // One message per item per call, oldest first.
    expect(calls().map(bodies)).toEqual([['3', '0'], ['4', '1'], ['5', '2']]);
    const first = calls()[0]?.Entries ?? [];
    expect(first.map((entry) => entry.MessageGroupId).sort()).toEqual(['{"orderId":{"S":"o-0"}}', '{"orderId":{"S":"o-1"}}']);
    for (const call of calls()) {
      for (const entry of call.Entries ?? []) expect(entry.MessageDeduplicationId).toBe(`evt-${JSON.parse(entry.MessageBody ?? '{}').n}`);
    }
  });

  it('on a FIFO queue stops an item after a message that cannot be sent, so nothing goes out of order', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      const entries = input.Entries ?? [];
      const bad = entries.find((entry) => JSON.parse(entry.MessageBody ?? '{}').n === '1');
      return {
        Successful: entries.filter((entry) => entry !== bad).map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
        Failed: bad === undefined ? [] : [{ Id: bad.Id, SenderFault: false, Code: 'ServiceUnavailable' }],
      };
    });
    const outcomes = await publisher('https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo').publish(messages(6, { perKey: 3 }));
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, false, false, true, true, true]);
    expect(calls().flatMap(bodies)).not.toContain('2');
    expect(outcomes[2]?.ok === false && outcomes[2].error.message).toMatch(/not sent: the message of its item at sequence 100000000000000000001 was not delivered/);
  });
});
