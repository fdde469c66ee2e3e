import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SumProjection, ViewProjection } from '../../src/projection/define.js';
import type { AnyProjection } from '../../src/catalog/kinds.js';
import type { ReadModelRow } from '../../src/projection/ports.js';
import { currentGeneration, rowKind } from '../../src/projection/read-model.js';
import { itemKeyFromAttributes } from '../../src/records/item-key.js';
import { DEFAULT_TABLE_NAMES, type TableNames } from './layout.js';
import { DynamoDbGenerationRegistry } from './rebuild-state.js';
import { DynamoDbReadModelStore } from './store.js';

/**
 * Reads a projection's current read model, for the application that serves it: a view's row by the source
 * item's key, a sum's group merged over its shards, or every row. "Current" is the generation readers use:
 * the one a rebuild last promoted.
 */
export interface ReadModelClient {
  view(projection: ViewProjection, key: Record<string, unknown>): Promise<Record<string, unknown> | undefined>;
  sum(projection: SumProjection, group: string): Promise<Record<string, unknown> | undefined>;
  rows(projection: AnyProjection): AsyncIterable<ReadModelRow>;
}

export function createReadModelClient(client: DynamoDBClient, tables: TableNames = DEFAULT_TABLE_NAMES): ReadModelClient {
  // Reads never touch checkpoints, so the consumer name is irrelevant here.
  const store = new DynamoDbReadModelStore({ client, consumer: 'reader', tables });
  const registry = new DynamoDbGenerationRegistry(client, tables.readModels);
  return {
    view: async (projection, key) => store.readView(await currentGeneration(registry, projection), itemKeyFromAttributes(key)),
    sum: async (projection, group) => store.readSum(await currentGeneration(registry, projection), group),
    rows: async function* (projection) {
      yield* store.rows(await currentGeneration(registry, projection), rowKind(projection));
    },
  };
}
