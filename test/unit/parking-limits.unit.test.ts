import { randomBytes } from 'node:crypto';
import {
  BatchWriteItemCommand,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageBatchCommand, SQSClient, ChangeMessageVisibilityBatchCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DynamoDbDeadLetterStore } from '../../adapters/dynamodb/dead-letters.js';
import { SqsDeadLetterStore } from '../../adapters/sqs/dead-letters.js';
import { SQS_MAX_MESSAGE_BYTES } from '../../adapters/sqs/publisher.js';
import { isStreamfoldError } from '../../src/core/errors.js';
import { defineProjection } from '../../src/projection/define.js';
import type { ParkedRecord } from '../../src/projection/ports.js';
import { binaryRecord as makeBinaryRecord, parkedOf } from '../support/binary-records.js';
import { MemoryDeadLetterStore } from '../../src/testing/memory-dead-letters.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { testConsumer } from '../support/consumers.js';
import { noSleep } from '../support/messages.js';
import { orderRecord } from '../support/records.js';

const sqs = mockClient(SQSClient);
const dynamodb = mockClient(DynamoDBClient);
afterEach(() => {
  sqs.reset();
  dynamodb.reset();
});

const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/parked';

const binaryRecord = makeBinaryRecord();

/** An SQS queue that keeps what is sent, and hands it back once. */
function fakeQueue(): string[] {
  const bodies: string[] = [];
  sqs.on(SendMessageBatchCommand).callsFake((input) => {
    for (const entry of input.Entries ?? []) bodies.push(entry.MessageBody);
    return { Successful: (input.Entries ?? []).map((entry: { Id: string }) => ({ Id: entry.Id })), Failed: [] };
  });
  let given = false;
  sqs.on(ReceiveMessageCommand).callsFake(() => {
    if (given) return { Messages: [] };
    given = true;
    return { Messages: bodies.map((body, index) => ({ ReceiptHandle: `h-${index}`, Body: body })) };
  });
  sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
  return bodies;
}

async function listAll(store: { list(): AsyncIterable<ParkedRecord> }): Promise<ParkedRecord[]> {
  const listed: ParkedRecord[] = [];
  for await (const record of store.list()) listed.push(record);
  return listed;
}

describe('parking in an SQS queue, exactly', () => {
  it('lists a parked record with B, BS and a binary inside a map back byte for byte', async () => {
    fakeQueue();
    const store = new SqsDeadLetterStore({ client: new SQSClient({ region: 'eu-west-1', credentials }), queueUrl: QUEUE });
    await store.park([parkedOf(binaryRecord)]);
    const [listed] = await listAll(store);
    expect(listed?.record).toEqual(binaryRecord);
  });

  it('parks a record over the message limit by its coordinates, saying where the record is, and parks the rest whole', async () => {
    const bodies = fakeQueue();
    const store = new SqsDeadLetterStore({ client: new SQSClient({ region: 'eu-west-1', credentials }), queueUrl: QUEUE });
    const huge = { ...binaryRecord, dynamodb: { ...binaryRecord.dynamodb, NewImage: { blob: { S: randomBytes(SQS_MAX_MESSAGE_BYTES).toString('base64') } } } };
    await store.park([parkedOf(huge, '7', 'k-huge'), parkedOf(binaryRecord, '8', 'k-small')]);
    expect(bodies.every((body) => Buffer.byteLength(body) <= SQS_MAX_MESSAGE_BYTES)).toBe(true);
    const listed = await listAll(store);
    const byKey = new Map(listed.map((record) => [record.key, record]));
    expect(byKey.get('k-small')?.record).toEqual(binaryRecord);
    const coordinates = byKey.get('k-huge');
    expect(coordinates?.record).toBeUndefined();
    expect(coordinates).toMatchObject({ sequence: '7', eventID: 'replay-1', error: { code: 'SCHEMA_MISMATCH' } });
    expect(coordinates?.error.message).toMatch(/not kept.*over SQS's \d+-byte message limit.*sequence 7/);
  });
  it('gzips a record too large as text but not once compressed, and lists it back whole', async () => {
    const bodies = fakeQueue();
    const store = new SqsDeadLetterStore({ client: new SQSClient({ region: 'eu-west-1', credentials }), queueUrl: QUEUE });
    const large = { ...binaryRecord, dynamodb: { ...binaryRecord.dynamodb, NewImage: { text: { S: 'order line '.repeat(150_000) } } } };
    await store.park([parkedOf(large)]);
    expect(Buffer.byteLength(bodies[0] ?? '')).toBeLessThan(SQS_MAX_MESSAGE_BYTES / 10);
    const [listed] = await listAll(store);
    expect(listed?.record).toEqual(large);
  });

  it('reports a queue it cannot reach as PARKING_FAILED, naming the queue and the record', async () => {
    sqs.on(SendMessageBatchCommand).rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    const store = new SqsDeadLetterStore({ client: new SQSClient({ region: 'eu-west-1', credentials }), queueUrl: QUEUE });
    const failure = await store.park([parkedOf(binaryRecord, '4', 'k4')]).catch((error: unknown) => error);
    expect(isStreamfoldError(failure, 'PARKING_FAILED')).toBe(true);
    expect((failure as Error).message).toBe(`parking in the queue ${QUEUE} failed: socket hang up (projection orders, eventID replay-1, key k4, sequence 4)`);
    expect((failure as { retryable: boolean }).retryable).toBe(true);
  });
});

describe('parking in a DynamoDB table, when DynamoDB refuses', () => {
  it('writes the records one by one when BatchWriteItem is refused as invalid, keeping a record refused alone by its coordinates', async () => {
    dynamodb.on(BatchWriteItemCommand).rejects(Object.assign(new Error('One or more parameter values were invalid'), { name: 'ValidationException' }));
    const written = new Map<string, Record<string, { S?: string; B?: Uint8Array }>>();
    dynamodb.on(PutItemCommand).callsFake((input) => {
      const sequence = input.Item.sequence.S as string;
      if (sequence === '2' && input.Item.record !== undefined) {
        throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException' });
      }
      written.set(sequence, input.Item);
      return {};
    });
    const store = new DynamoDbDeadLetterStore({ client: new DynamoDBClient({ region: 'eu-west-1', credentials }), table: 'parked', consumer: 'c', sleep: noSleep });
    await store.park([parkedOf({ a: 1 }, '1', 'k1'), parkedOf({ a: 2 }, '2', 'k2'), parkedOf({ a: 3 }, '3', 'k3')]);
    expect([...written.keys()].sort()).toEqual(['1', '2', '3']);
    expect(written.get('1')?.record?.B).toBeInstanceOf(Uint8Array);
    expect(written.get('2')?.record).toBeUndefined();
    expect(JSON.parse(written.get('2')?.error?.S ?? '{}').message).toMatch(
      /^bad \[the record itself is not kept: DynamoDB refused it: Item size has exceeded.*at sequence 2, eventID replay-1\]$/,
    );
  });

  it('fails with PARKING_FAILED, naming the table and the record, when a record is refused even by its coordinates', async () => {
    dynamodb.on(BatchWriteItemCommand).rejects(Object.assign(new Error('invalid'), { name: 'ValidationException' }));
    const written: string[] = [];
    dynamodb.on(PutItemCommand).callsFake((input) => {
      const sequence = input.Item.sequence.S as string;
      if (sequence === '2') throw Object.assign(new Error('refused'), { name: 'ValidationException' });
      written.push(sequence);
      return {};
    });
    const store = new DynamoDbDeadLetterStore({ client: new DynamoDBClient({ region: 'eu-west-1', credentials }), table: 'parked', consumer: 'c', sleep: noSleep });
    const failure = await store.park([parkedOf({ a: 1 }, '1', 'k1'), parkedOf({ a: 2 }, '2', 'k2'), parkedOf({ a: 3 }, '3', 'k3')]).catch((error: unknown) => error);
    expect(written.sort()).toEqual(['1', '3']);
    expect(isStreamfoldError(failure, 'PARKING_FAILED')).toBe(true);
    expect((failure as Error).message).toMatch(/parking 1 of 3 records in the parked table parked failed: refused/);
    expect((failure as Error).message).toMatch(/key k2, sequence 2/);
  });

  it('reports a parking failure as one, naming the parked table, never as a read-model write', async () => {
    dynamodb.on(BatchWriteItemCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));
    const deadLetters = new DynamoDbDeadLetterStore({
      client: new DynamoDBClient({ region: 'eu-west-1', credentials, maxAttempts: 1 }),
      table: 'my-parked-table',
      consumer: 'c',
      sleep: noSleep,
    });
    const strict = defineProjection({
      name: 'amounts',
      version: 1,
      kind: 'view',
      schema: z.object({ orderId: z.string(), amount: z.number() }),
      evolve: (_state: { amount: number } | undefined, event) => (event.newImage === undefined ? undefined : { amount: event.newImage.amount }),
    });
    const bad = orderRecord('100000000000000000001', { orderId: 'o-1', customerId: 'c', status: 'S', amount: '12' as unknown as number });
    const report = await testConsumer(new MemoryReadModelStore(), [strict], deadLetters).process([bad]);
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: '100000000000000000001' }]);
    const [error] = report.errors;
    expect(error?.code).toBe('PARKING_FAILED');
    expect(error?.message).toMatch(/my-parked-table/);
    expect(error?.message).not.toMatch(/read model/);
    expect(error?.retryable).toBe(true);
  });
});

describe('the in-memory dead-letter store', () => {
  it('hands back what DynamoDB would: a copy, binaries included, not the object parked', async () => {
    const store = new MemoryDeadLetterStore();
    const record = structuredClone(binaryRecord);
    await store.park([parkedOf(record)]);
    record.dynamodb.NewImage.blob.B[0] = 99;
    const [listed] = await listAll(store);
    expect(listed?.record).toEqual(binaryRecord);
    expect(listed?.record).not.toBe(record);
  });
});
