import {
  CreateTableCommand,
  DescribeTableCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { sleep } from '../../src/core/retry.js';
import { ATTR, DEFAULT_TABLE_NAMES, type TableNames } from './layout.js';

/** The read-model, checkpoint and parked-record tables, on demand. Creating a table that exists is not an error. */
export async function createStreamfoldTables(
  client: DynamoDBClient,
  tables: TableNames = DEFAULT_TABLE_NAMES,
): Promise<void> {
  await Promise.all([
    ensureTable(client, keyedTable(tables.readModels, true)),
    ensureTable(client, keyedTable(tables.checkpoints, false)),
    ensureTable(client, keyedTable(tables.parked, true)),
  ]);
}

/** An on-demand table keyed by a string `pk`, and a string `sk` when it has a sort key. */
function keyedTable(name: string, sorted: boolean): CreateTableCommandInput {
  const keys = sorted ? [ATTR.pk, ATTR.sk] : [ATTR.pk];
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: keys.map((attribute) => ({ AttributeName: attribute, AttributeType: 'S' })),
    KeySchema: keys.map((attribute, index) => ({ AttributeName: attribute, KeyType: index === 0 ? 'HASH' : 'RANGE' })),
  };
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
