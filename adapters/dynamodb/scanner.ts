import { DescribeTableCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StreamfoldError } from '../../src/core/errors.js';
import { fromWireJson, toWireJson } from '../../src/records/wire-json.js';
import type { ScanPage, SourceScanner } from '../../src/rebuild/ports.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep as defaultSleep, type Sleep } from '../../src/core/retry.js';
import { classifyWriteError } from './errors.js';
import type { DynamoDbUsage } from './usage.js';

const SCAN_ATTEMPTS = 10;

/**
 * A parallel scan of a source table (`Segment` / `TotalSegments`). Throttling is retried with jittered backoff
 * beyond the SDK's own attempts, so that a rebuild slows down rather than fails when the table is busy.
 */
export class DynamoDbSourceScanner implements SourceScanner {
  private description: Promise<{ keys: string[]; count: number | undefined }> | undefined;

  constructor(
    private readonly client: DynamoDBClient,
    readonly table: string,
    private readonly options: { readonly sleep?: Sleep; readonly usage?: DynamoDbUsage } = {},
  ) {}

  async keyAttributes(): Promise<string[]> {
    return (await this.describe()).keys;
  }

  async approximateItemCount(): Promise<number | undefined> {
    return (await this.describe()).count;
  }

  async scan(segment: number, totalSegments: number, startKey: string | undefined, limit: number): Promise<ScanPage> {
    const sleep = this.options.sleep ?? defaultSleep;
    for (let attempt = 0; ; attempt += 1) {
      try {
        this.options.usage?.request('Scan');
        const page = await this.client.send(
          new ScanCommand({
            TableName: this.table,
            Segment: segment,
            TotalSegments: totalSegments,
            Limit: limit,
            ExclusiveStartKey:
              startKey === undefined ? undefined : (fromWireJson(startKey) as Record<string, AttributeValue>),
          }),
        );
        return {
          items: page.Items ?? [],
          lastKey: page.LastEvaluatedKey === undefined ? undefined : toWireJson(page.LastEvaluatedKey),
        };
      } catch (error) {
        if (classifyWriteError(error) !== 'throttled' || attempt + 1 >= SCAN_ATTEMPTS) throw error;
        await sleep(backoffDelay(DEFAULT_BACKOFF, attempt));
      }
    }
  }

  private describe(): Promise<{ keys: string[]; count: number | undefined }> {
    this.description ??= this.client.send(new DescribeTableCommand({ TableName: this.table })).then(({ Table }) => {
      const schema = Table?.KeySchema ?? [];
      const keys = ['HASH', 'RANGE']
        .map((type) => schema.find((element) => element.KeyType === type)?.AttributeName)
        .filter((name): name is string => name !== undefined);
      if (keys.length === 0) throw new StreamfoldError('CONFIGURATION', `table ${this.table} has no key schema`);
      return { keys, count: Table?.ItemCount };
    });
    return this.description;
  }
}
