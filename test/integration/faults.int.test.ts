import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createReadModelClient } from '../../adapters/dynamodb/reader.js';
import { defineProjection } from '../../src/projection/define.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { orderRecord, streamRecord } from '../support/records.js';
import { freshTables, localClient, localHandler } from '../support/local-dynamodb.js';

let client: DynamoDBClient;
beforeAll(() => {
  client = localClient();
});

const Counted = z.object({ orderId: z.string(), n: z.number() });
/** A view whose row depends on its history: folding on a stale row gives a wrong count. */
const changes = defineProjection({
  name: 'changes',
  version: 1,
  kind: 'view',
  schema: Counted,
  evolve: (state: { changes: number } | undefined) => ({ changes: (state?.changes ?? 0) + 1 }),
});
const latest = defineProjection({
  name: 'latest',
  version: 1,
  kind: 'view',
  schema: Counted,
  evolve: (_state: object | undefined, event) => (event.newImage === undefined ? undefined : { n: event.newImage.n }),
});
const counted = (id: string, sequence: string, n: number) =>
  streamRecord({
    eventName: n === 0 ? 'INSERT' : 'MODIFY',
    keys: { orderId: { S: id } },
    sequence,
    newImage: { orderId: { S: id }, n: { N: String(n) } },
    ...(n === 0 ? {} : { oldImage: { orderId: { S: id }, n: { N: String(n - 1) } } }),
  });

describe('faults on DynamoDB Local', () => {
  it('a view row read before another consumer\'s write, and its checkpoint read after, is not folded on', async () => {
    const tables = await freshTables(client);
    const other = localHandler(client, tables, [changes, latest]);
    await other.invoke({ Records: [counted('k33', '100', 0)] });

    // The batch read is split into chunks of 100 keys; k33's checkpoint and view rows land in different
    // chunks. The other consumer commits record 200 between the two reads.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const tornClient = {
      send: async (command: unknown) => {
        if (!(command instanceof BatchGetItemCommand)) return client.send(command as never);
        const body = JSON.stringify(command.input.RequestItems);
        const readsCheckpoint = body.includes(tables.checkpoints) && body.includes('k33');
        if (readsCheckpoint) await released;
        const result = await client.send(command);
        if (!readsCheckpoint && body.includes('k33')) {
          await other.invoke({ Records: [counted('k33', '200', 1)] });
          release();
        }
        return result;
      },
    } as unknown as DynamoDBClient;
    const consumer = localHandler(tornClient, tables, [changes, latest]);
    const fillers = Array.from({ length: 33 }, (_, index) => counted(`k${index}`, String(1000 + index), 0));
    const report = await consumer.invoke({ Records: [...fillers, counted('k33', '200', 1), counted('k33', '300', 2)] });
    expect(report.batchItemFailures).toEqual([]);
    expect(await createReadModelClient(client, tables).view(changes, { orderId: 'k33' })).toEqual({ changes: 3 });
  });

  it('keeps a sum group named __proto__ (it comes from item data) exact through DynamoDB', async () => {
    const tables = await freshTables(client);
    const handler = localHandler(client, tables, [customerTotals]);
    const first = { orderId: 'o-1', customerId: '__proto__', status: 'PLACED', amount: 5 };
    const moved = { ...first, customerId: 'c-1' };
    expect((await handler.invoke({ Records: [orderRecord('100', first)] })).batchItemFailures).toEqual([]);
    expect(await readAllRows(handler.store, customerTotals)).toEqual([{ key: '__proto__', value: { orders: 1, amount: 5 } }]);
    expect((await handler.invoke({ Records: [orderRecord('200', moved, first)] })).batchItemFailures).toEqual([]);
    expect(await readAllRows(handler.store, customerTotals)).toEqual([{ key: 'c-1', value: { orders: 1, amount: 5 } }]);
  });
});
