import { UpdateItemCommand, type DynamoDBClient, type TransactWriteItemsCommandInput } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createReadModelClient } from '../../adapters/dynamodb/reader.js';
import { DynamoDbSourceScanner } from '../../adapters/dynamodb/scanner.js';
import { ordersWorkload } from '../../demo/orders-workload.js';
import { generationOf } from '../../src/projection/define.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { verifyProjection } from '../../src/rebuild/verify.js';
import examples from '../../projections/index.js';
import { orderView } from '../../projections/order-view.js';
import { batches } from '../support/consumers.js';
import { differencesFromTruth } from '../support/expectations.js';
import { freshTables, localClient, localHandler, ordersWithRecords } from '../support/local-dynamodb.js';

let client: DynamoDBClient;
let source: Awaited<ReturnType<typeof ordersWithRecords>>;
beforeAll(async () => {
  client = localClient();
  source = await ordersWithRecords(client, ordersWorkload({ seed: 1313, operations: 240, customers: 5, maxOrders: 40 }));
});

async function deliver(handler: ReturnType<typeof localHandler>, size: number): Promise<void> {
  for (const batch of batches(source.records, size)) {
    const response = await handler.invoke({ Records: batch });
    expect(response.batchItemFailures).toEqual([]);
  }
}

describe('where checkpoints live, on DynamoDB Local', () => {
  it('a view-only consumer writes each key\'s row alone, one unit each, with no transaction and no checkpoint item', async () => {
    const tables = await freshTables(client);
    const handler = localHandler(client, tables, [orderView]);
    await deliver(handler, 50);
    const usage = handler.store.usage.snapshot();
    expect(usage.requests.TransactWriteItems).toBeUndefined();
    expect(usage.requests.BatchExecuteStatement).toBeGreaterThan(0);
    // Every row of this workload is under 1 KB: one unit per row written, as a plain write bills it.
    expect(usage.billedWriteUnits).toBe(usage.itemsWritten);
    expect(usage.itemsWritten).toBeLessThanOrEqual(source.records.length);
    const rows = await readAllRows(handler.store, orderView);
    expect(rows.length).toBe(source.finalItems.length);
  });

  it('hides a deleted row\'s tombstone from every reader: dump, the read client and verify', async () => {
    const tables = await freshTables(client);
    const handler = localHandler(client, tables, [orderView]);
    await deliver(handler, 30);
    const deleted = source.records.filter((record) => record.eventName === 'REMOVE').map((record) => (record.dynamodb as { Keys: { orderId: { S: string } } }).Keys.orderId.S);
    expect(deleted.length).toBeGreaterThan(0);
    const reader = createReadModelClient(client, tables);
    const live = new Set(source.finalItems.map((item) => String(item.orderId)));
    const gone = deleted.find((orderId) => !live.has(orderId)) ?? '';
    expect(await reader.view(orderView, { orderId: gone })).toBeUndefined();
    const listed: string[] = [];
    for await (const row of reader.rows(orderView)) listed.push((row.key as { orderId: string }).orderId);
    expect(listed.sort()).toEqual([...live].sort());
    const verified = await verifyProjection({
      projection: orderView,
      scanner: new DynamoDbSourceScanner(client, source.table.spec.name),
      reader: handler.store,
      generation: generationOf(orderView),
    });
    expect(verified.drift).toEqual([]);
    expect(verified.storedRows).toBe(live.size);
  });

  it('a key whose view row landed while its transaction met a moved checkpoint is planned again to the same read models', async () => {
    const clean = await freshTables(client);
    const cleanHandler = localHandler(client, clean);
    await deliver(cleanHandler, 40);

    const tables = await freshTables(client);
    const faulty = localClient();
    // Before the first transactions go out, another writer moves one of their checkpoints: DynamoDB cancels
    // each of them for real, after the same batch's view rows have landed on their own.
    let moved = 0;
    faulty.middlewareStack.add(
      (next, context) => async (args) => {
        const checkpoint = (args.input as TransactWriteItemsCommandInput).TransactItems?.find((item) => item.Put?.TableName === tables.checkpoints)?.Put;
        if (context.commandName === 'TransactWriteItemsCommand' && moved < 3 && checkpoint?.ConditionExpression?.startsWith('#rev') === true) {
          moved += 1;
          await client.send(
            new UpdateItemCommand({ TableName: tables.checkpoints, Key: { pk: checkpoint.Item?.pk ?? { S: '' } }, UpdateExpression: 'ADD rev :one', ExpressionAttributeValues: { ':one': { N: '1' } } }),
          );
        }
        return next(args);
      },
      { step: 'initialize', name: 'anotherWriterMovesACheckpoint' },
    );
    const handler = localHandler(faulty, tables);
    await deliver(handler, 40);
    expect(moved).toBe(3);

    expect(await differencesFromTruth(handler.store, source.finalItems)).toEqual([]);
    for (const projection of examples) {
      expect(await readAllRows(handler.store, projection)).toEqual(await readAllRows(cleanHandler.store, projection));
    }
    // The rows that had landed were not written again: as many as in the run without conflicts.
    expect(handler.store.usage.snapshot().requests.BatchExecuteStatement).toBe(cleanHandler.store.usage.snapshot().requests.BatchExecuteStatement);
  });
});
