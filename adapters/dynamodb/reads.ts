import { GetItemCommand, QueryCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ReadModelReader, ReadModelRow } from '../../src/projection/ports.js';
import { addAmounts, byKey, sumRowValue } from '../../src/projection/sum-rows.js';
import type { Decimal } from '../../src/records/decimal.js';
import type { ItemKey } from '../../src/records/item-key.js';
import { pages } from './pages.js';
import { ATTR, decodeCheckpoint, decodeItemKeyAttributes, decodeViewValue, sumFields, sumRowPartition, VIEW_SORT_KEY, viewRowKey, type TableNames } from './layout.js';
import type { DynamoDbUsage } from './usage.js';

export interface OpenGap {
  readonly generation: string;
  readonly stream: string;
  readonly missing: string;
  readonly held: readonly string[];
  readonly since: number | undefined;
  readonly blockedAt: string | undefined;
}

/** Reads of the read model and of the checkpoints, for readers and operators: never part of a write. */
export class DynamoDbReads implements ReadModelReader {
  constructor(
    protected readonly client: DynamoDBClient,
    readonly tables: TableNames,
    protected readonly consumer: string,
    readonly usage: DynamoDbUsage,
  ) {}

  /** Every row of one generation; sum groups merged over their shards, groups that sum to zero left out. */
  async *rows(generation: string, kind: 'view' | 'sum'): AsyncIterable<ReadModelRow> {
    const groups = new Map<string, Map<string, Decimal>>();
    const scan = pages((startKey: Record<string, AttributeValue> | undefined) => {
      this.usage.request('Scan');
      return this.client.send(
        new ScanCommand({
          TableName: this.tables.readModels,
          FilterExpression: '#g = :g',
          ExpressionAttributeNames: { '#g': ATTR.generation },
          ExpressionAttributeValues: { ':g': { S: generation } },
          ExclusiveStartKey: startKey,
        }),
      );
    });
    for await (const items of scan) {
      for (const item of items) {
        if (kind === 'view') {
          // A tombstone (no value) only carries its projection's checkpoint entry: readers never see it.
          const value = item[ATTR.sk]?.S === VIEW_SORT_KEY ? decodeViewValue(item) : undefined;
          if (value !== undefined) yield { key: decodeItemKeyAttributes(item), value };
          continue;
        }
        const group = item[ATTR.group]?.S;
        if (group === undefined) continue;
        let total = groups.get(group);
        if (total === undefined) {
          total = new Map();
          groups.set(group, total);
        }
        addAmounts(total, sumFields(item));
      }
    }
    for (const [group, fields] of [...groups].sort(byKey)) {
      const value = sumRowValue(fields);
      if (value !== undefined) yield { key: group, value };
    }
  }

  /** One sum group, merged over its shards; `undefined` when it sums to zero everywhere. */
  async readSum(generation: string, group: string): Promise<Record<string, unknown> | undefined> {
    this.usage.request('Query');
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tables.readModels,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': ATTR.pk },
        ExpressionAttributeValues: { ':pk': { S: sumRowPartition(generation, group) } },
        ConsistentRead: true,
      }),
    );
    const fields = new Map<string, Decimal>();
    for (const item of page.Items ?? []) addAmounts(fields, sumFields(item));
    return sumRowValue(fields);
  }

  /** One view row; `undefined` when there is none, or only its tombstone. */
  async readView(generation: string, key: ItemKey): Promise<Record<string, unknown> | undefined> {
    this.usage.request('GetItem');
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tables.readModels, Key: viewRowKey(generation, key), ConsistentRead: true }));
    return Item === undefined ? undefined : decodeViewValue(Item);
  }

  /** Event-log streams whose versions have a gap: what is missing, what waits behind it, since when. */
  async *openGaps(generations: readonly string[]): AsyncIterable<OpenGap> {
    const wanted = new Set(generations);
    const scan = pages((startKey: Record<string, AttributeValue> | undefined) => {
      this.usage.request('Scan');
      return this.client.send(
        new ScanCommand({
          TableName: this.tables.checkpoints,
          FilterExpression: 'begins_with(#pk, :consumer)',
          ExpressionAttributeNames: { '#pk': ATTR.pk },
          ExpressionAttributeValues: { ':consumer': { S: `${this.consumer}#` } },
          ExclusiveStartKey: startKey,
        }),
      );
    });
    for await (const items of scan) {
      for (const item of items) {
        if (item[ATTR.revision] === undefined) continue;
        for (const [generation, entry] of decodeCheckpoint(item).entries) {
          if (!wanted.has(generation) || entry.pending === undefined || entry.pending.size === 0) continue;
          yield {
            generation,
            stream: item[ATTR.rowKey]?.S ?? '',
            missing: (BigInt(entry.sequence) + 1n).toString(),
            held: [...entry.pending.keys()],
            since: entry.pendingSince,
            blockedAt: entry.blockedAt,
          };
        }
      }
    }
  }
}
