import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type StreamViewType,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { NumberValue } from '@aws-sdk/lib-dynamodb';
import { pages } from './pages.js';
import { waitForActive } from './tables.js';

export interface SourceTableSpec {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly sortKeyType?: 'S' | 'N';
  readonly streamViewType: StreamViewType;
}

export type PlainItem = Record<string, unknown>;

/**
 * A source table for the local runner and the tests: created with a stream, written through the document
 * client, and scanned back with numbers as exact strings. It shares no code with streamfold's decoder, so a
 * scan is an independent view of the truth.
 */
export class SourceTable {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    private readonly client: DynamoDBClient,
    readonly spec: SourceTableSpec,
  ) {
    this.documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
      unmarshallOptions: { wrapNumbers: true },
    });
  }

  /** Creates the table with its stream and answers the stream's ARN. */
  async create(): Promise<string> {
    const { name, partitionKey, sortKey, sortKeyType, streamViewType } = this.spec;
    await this.client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: 'S' },
          ...(sortKey === undefined ? [] : [{ AttributeName: sortKey, AttributeType: sortKeyType ?? ('S' as const) }]),
        ],
        KeySchema: [
          { AttributeName: partitionKey, KeyType: 'HASH' },
          ...(sortKey === undefined ? [] : [{ AttributeName: sortKey, KeyType: 'RANGE' as const }]),
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: streamViewType },
      }),
    );
    await waitForActive(this.client, name);
    const { Table } = await this.client.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.LatestStreamArn === undefined) throw new Error(`table ${name} has no stream`);
    return Table.LatestStreamArn;
  }

  async put(item: PlainItem): Promise<void> {
    await this.documents.send(new PutCommand({ TableName: this.spec.name, Item: item }));
  }

  async update(key: PlainItem, changes: PlainItem): Promise<void> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = Object.entries(changes).map(([field, value], index) => {
      names[`#f${index}`] = field;
      values[`:v${index}`] = value;
      return `#f${index} = :v${index}`;
    });
    await this.documents.send(
      new UpdateCommand({
        TableName: this.spec.name,
        Key: key,
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** Appends items in one transaction, each only if it does not exist yet (an event log is append-only). */
  async append(items: readonly PlainItem[]): Promise<void> {
    await this.documents.send(
      new TransactWriteCommand({
        TransactItems: items.map((item) => ({
          Put: {
            TableName: this.spec.name,
            Item: item,
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': this.spec.partitionKey },
          },
        })),
      }),
    );
  }

  async delete(key: PlainItem): Promise<void> {
    await this.documents.send(new DeleteCommand({ TableName: this.spec.name, Key: key }));
  }

  /** Every item, numbers as their exact decimal strings. */
  async scan(): Promise<PlainItem[]> {
    const items: PlainItem[] = [];
    const scan = pages((startKey: Record<string, unknown> | undefined) =>
      this.documents.send(new ScanCommand({ TableName: this.spec.name, ExclusiveStartKey: startKey, ConsistentRead: true })),
    );
    for await (const page of scan) for (const item of page) items.push(withNumbersAsStrings(item));
    return items;
  }
}

function withNumbersAsStrings(item: Record<string, unknown>): PlainItem {
  return Object.fromEntries(
    Object.entries(item).map(([name, value]) => [name, isNumberValue(value) ? value.value : value]),
  );
}

function isNumberValue(value: unknown): value is NumberValue {
  return typeof value === 'object' && value !== null && typeof (value as { value?: unknown }).value === 'string';
}
