import { BatchWriteItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { SourceTable } from '../../adapters/dynamodb/source-table.js';
import { chunk } from '../../src/core/concurrency.js';
import { uniqueName } from './local-dynamodb.js';

/** An `Orders` table of `count` orders over `customers` customers, written 25 at a time, 16 batches in flight. */
export async function bulkOrders(client: DynamoDBClient, count: number, customers: number): Promise<string> {
  const table = uniqueName('Orders');
  await new SourceTable(client, { name: table, partitionKey: 'orderId', streamViewType: 'NEW_AND_OLD_IMAGES' }).create();
  const requests = Array.from({ length: count }, (_, index): WriteRequest => ({
    PutRequest: {
      Item: {
        orderId: { S: `o-${String(index).padStart(6, '0')}` },
        customerId: { S: `c-${index % customers}` },
        status: { S: index % 5 === 0 ? 'SHIPPED' : 'PLACED' },
        amount: { N: String((index % 997) + 1) },
      },
    },
  }));
  for (const group of chunk(chunk(requests, 25), 16)) {
    await Promise.all(
      group.map(async (batch) => {
        let unprocessed: Record<string, WriteRequest[]> = { [table]: batch };
        while (Object.keys(unprocessed).length > 0) unprocessed = (await client.send(new BatchWriteItemCommand({ RequestItems: unprocessed }))).UnprocessedItems ?? {};
      }),
    );
  }
  return table;
}
