import { CreateTableCommand, DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { waitForActive } from '../../adapters/dynamodb/tables.js';
import { uniqueName } from './local-dynamodb.js';

export type KeyType = 'S' | 'N' | 'B';
type KeyAttribute = [name: string, type: KeyType];

/** A table of a test's own on DynamoDB Local, with a partition and a sort key of the given types. */
export async function createKeyedTable(client: DynamoDBClient, prefix: string, hash: KeyAttribute, range: KeyAttribute): Promise<string> {
  return create(client, prefix, hash, range, false);
}

/** The same with a stream of new and old images, and the stream's ARN. */
export async function createStreamedTable(client: DynamoDBClient, prefix: string, hash: KeyAttribute, range: KeyAttribute): Promise<{ name: string; streamArn: string }> {
  const name = await create(client, prefix, hash, range, true);
  const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
  if (Table?.LatestStreamArn === undefined) throw new Error(`table ${name} has no stream`);
  return { name, streamArn: Table.LatestStreamArn };
}

async function create(client: DynamoDBClient, prefix: string, [hash, hashType]: KeyAttribute, [range, rangeType]: KeyAttribute, stream: boolean): Promise<string> {
  const name = uniqueName(prefix);
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: hash, AttributeType: hashType },
        { AttributeName: range, AttributeType: rangeType },
      ],
      KeySchema: [
        { AttributeName: hash, KeyType: 'HASH' },
        { AttributeName: range, KeyType: 'RANGE' },
      ],
      ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' as const } } : {}),
    }),
  );
  await waitForActive(client, name);
  return name;
}
