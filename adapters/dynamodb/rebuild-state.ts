import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { GenerationRegistry, RebuildState, RebuildStateStore } from '../../src/rebuild/ports.js';
import { fromWireJson, toWireJson } from '../../src/records/wire-json.js';
import { ATTR, partitionKey } from './layout.js';

/**
 * A rebuild's progress is one item in the checkpoint table (`_rebuild#<consumer>#<generation>|<table>`),
 * written after every page.
 */
export class DynamoDbRebuildStateStore implements RebuildStateStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly consumer: string,
  ) {}

  async load(id: string): Promise<RebuildState | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: this.key(id), ConsistentRead: true }),
    );
    const text = Item?.state?.S;
    return text === undefined ? undefined : (fromWireJson(text) as RebuildState);
  }

  async save(id: string, state: RebuildState): Promise<void> {
    await this.client.send(
      new PutItemCommand({ TableName: this.table, Item: { ...this.key(id), state: { S: toWireJson(state) } } }),
    );
  }

  private key(id: string) {
    return { [ATTR.pk]: { S: partitionKey(`_rebuild#${this.consumer}`, id) } };
  }
}

/**
 * Which version of each projection readers use: one item per projection in the read-model table
 * (`_generation#<name>`, sort key `current`). Without one, readers use the version their module declares.
 */
export class DynamoDbGenerationRegistry implements GenerationRegistry {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async current(name: string): Promise<number | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: this.key(name), ConsistentRead: true }),
    );
    const version = Item?.version?.N;
    return version === undefined ? undefined : Number(version);
  }

  async promote(name: string, version: number): Promise<void> {
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: { ...this.key(name), version: { N: String(version) }, promotedAt: { S: new Date().toISOString() } },
      }),
    );
  }

  async adopt(name: string, version: number): Promise<void> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { ...this.key(name), version: { N: String(version) }, promotedAt: { S: new Date().toISOString() } },
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': ATTR.pk },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  private key(name: string) {
    return { [ATTR.pk]: { S: `_generation#${name}` }, [ATTR.sk]: { S: 'current' } };
  }
}
