import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { sleep } from '../../src/retry.js';
import { ATTR, DEFAULT_TABLE_NAMES, type TableNames } from './layout.js';

/** The read-model, checkpoint and parked-record tables, on demand. Creating a table that exists is not an error. */
export async function createStreamfoldTables(
  client: DynamoDBClient,
  tables: TableNames = DEFAULT_TABLE_NAMES,
): Promise<void> {
  await Promise.all([
    ensureTable(client, {
      TableName: tables.readModels,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: ATTR.pk, AttributeType: 'S' },
        { AttributeName: ATTR.sk, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: ATTR.pk, KeyType: 'HASH' },
        { AttributeName: ATTR.sk, KeyType: 'RANGE' },
      ],
    }),
    ensureTable(client, {
      TableName: tables.checkpoints,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: ATTR.pk, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: ATTR.pk, KeyType: 'HASH' }],
    }),
    ensureTable(client, {
      TableName: tables.parked,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: ATTR.pk, AttributeType: 'S' },
        { AttributeName: ATTR.sk, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: ATTR.pk, KeyType: 'HASH' },
        { AttributeName: ATTR.sk, KeyType: 'RANGE' },
      ],
    }),
  ]);
}

export async function ensureTable(client: DynamoDBClient, input: CreateTableCommandInput): Promise<void> {
  try {
    await client.send(new CreateTableCommand(input));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitForActive(client, input.TableName ?? '');
}

export async function waitForActive(client: DynamoDBClient, table: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
      if (Table?.TableStatus === 'ACTIVE') return;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    if (Date.now() > deadline) throw new Error(`table ${table} did not become ACTIVE within ${timeoutMs} ms`);
    await sleep(200);
  }
}
