import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { generationOf, type Projection, type SumProjection, type ViewProjection } from '../../src/projection/define.js';
import type { ReadModelRow } from '../../src/projection/ports.js';
import { itemKeyFromAttributes } from '../../src/records/item-key.js';
import { DEFAULT_TABLE_NAMES, type TableNames } from './layout.js';
import { DynamoDbReadModelStore } from './store.js';

/**
 * Reads a projection's current read model, for the application that serves it: a view's row by the source
 * item's key, a sum's group merged over its shards, or every row.
 */
export interface ReadModelClient {
  view(projection: ViewProjection, key: Record<string, unknown>): Promise<Record<string, unknown> | undefined>;
  sum(projection: SumProjection, group: string): Promise<Record<string, unknown> | undefined>;
  rows(projection: Projection): AsyncIterable<ReadModelRow>;
}

export function createReadModelClient(client: DynamoDBClient, tables: TableNames = DEFAULT_TABLE_NAMES): ReadModelClient {
  // Reads never touch checkpoints, so the consumer name is irrelevant here.
  const store = new DynamoDbReadModelStore({ client, consumer: 'reader', tables });
  return {
    view: (projection, key) => store.readView(generationOf(projection), itemKeyFromAttributes(key)),
    sum: (projection, group) => store.readSum(generationOf(projection), group),
    rows: (projection) => store.rows(generationOf(projection), projection.kind),
  };
}
