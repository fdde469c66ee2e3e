import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../src/lambda/handler.js';
import { silentLogger } from '../../src/core/logging.js';
import { defineFanOut } from '../../src/fanout/define.js';
import { MemoryDeadLetterStore } from '../../src/testing/memory-dead-letters.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import examples from '../../projections/index.js';
import { orderRecord } from '../support/records.js';

/**
 * A loopback endpoint that answers like EventBridge and SQS, and keeps every request as it arrived: the
 * real SDK clients sign, serialise and send over HTTP, so this is the shape AWS would receive.
 */
interface Received {
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, any>;
}

let server: Server;
let endpoint: string;
const received: Received[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const body = JSON.parse(text) as Record<string, any>;
      received.push({ target, headers: request.headers, body });
      let answer: unknown;
      if (target === 'AWSEvents.PutEvents') {
        answer = { FailedEntryCount: 0, Entries: body.Entries.map((_: unknown, index: number) => ({ EventId: `e-${index}` })) };
        response.setHeader('content-type', 'application/x-amz-json-1.1');
      } else {
        answer = {
          Successful: body.Entries.map((entry: { Id: string; MessageBody: string }) => ({
            Id: entry.Id,
            MessageId: `m-${entry.Id}`,
            MD5OfMessageBody: createHash('md5').update(entry.MessageBody).digest('hex'),
          })),
          Failed: [],
        };
        response.setHeader('content-type', 'application/x-amz-json-1.0');
      }
      response.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

describe('fan-out on the wire', () => {
  it('sends PutEvents and SendMessageBatch requests of the shape AWS expects', async () => {
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
    const queueUrl = `${endpoint}/123456789012/orders.fifo`;
    const handler = createHandler({
      projections: examples,
      store: new MemoryReadModelStore(),
      deadLetters: new MemoryDeadLetterStore(),
      logger: silentLogger,
      environment: {},
      eventBridgeClient: new EventBridgeClient({ endpoint, region: 'eu-west-1', credentials }),
      sqsClient: new SQSClient({ endpoint, region: 'eu-west-1', credentials }),
      fanOut: [
        defineFanOut({ name: 'bus', target: 'eventbridge', destination: 'orders-bus', source: 'shop.orders' }),
        defineFanOut({ name: 'queue', target: 'sqs', destination: queueUrl }),
      ],
    });
    const placed = { orderId: 'o-1', customerId: 'c-1', status: 'PLACED', amount: 123456789012345678901234567890n };
    const paid = { ...placed, status: 'PAID' };
    const response = await handler({
      Records: [orderRecord('100000000000000000001', placed), orderRecord('100000000000000000002', paid, placed)],
    });
    expect(response).toEqual({ batchItemFailures: [] });

    const puts = received.filter((request) => request.target === 'AWSEvents.PutEvents');
    expect(puts).toHaveLength(1);
    const put = puts[0]!;
    expect(put.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(String(put.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/events\/aws4_request/);
    expect(put.body.Entries).toHaveLength(2);
    expect(put.body.Entries[0]).toMatchObject({
      EventBusName: 'orders-bus',
      Source: 'shop.orders',
      DetailType: 'Orders.INSERT',
      Time: 1_764_000_000,
    });
    const detail = JSON.parse(put.body.Entries[1].Detail);
    expect(detail).toMatchObject({ kind: 'modify', sequence: '100000000000000000002', key: { orderId: 'o-1' } });
    expect(detail.newImage.amount).toBe('123456789012345678901234567890');

    const batches = received.filter((request) => request.target === 'AmazonSQS.SendMessageBatch');
    expect(batches).toHaveLength(2); // FIFO: one message of the item per call, in order
    expect(String(batches[0]!.headers.authorization)).toMatch(/\/eu-west-1\/sqs\/aws4_request/);
    const entries = batches.map((request) => request.body.Entries[0]);
    expect(batches.every((request) => request.body.QueueUrl === queueUrl)).toBe(true);
    expect(entries.map((entry) => entry.MessageGroupId)).toEqual(['{"orderId":{"S":"o-1"}}', '{"orderId":{"S":"o-1"}}']);
    expect(entries.map((entry) => entry.MessageDeduplicationId)).toEqual(['evt-100000000000000000001', 'evt-100000000000000000002']);
    expect(entries.map((entry) => JSON.parse(entry.MessageBody).sequence)).toEqual(['100000000000000000001', '100000000000000000002']);
    expect(entries[0].MessageAttributes.detailType).toEqual({ DataType: 'String', StringValue: 'Orders.INSERT' });
  });
});
