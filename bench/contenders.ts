import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tableConfig } from '../src/core/config.js';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { createDynamoDbClient } from '../adapters/dynamodb/client.js';
import { pages } from '../adapters/dynamodb/pages.js';
import { createStreamfoldTables, ensureTable } from '../adapters/dynamodb/tables.js';
import { createHandler } from '../src/lambda/handler.js';
import { silentLogger } from '../src/core/logging.js';
import type { Projection } from '../src/projection/define.js';
import { readAllRows } from '../src/projection/read-model.js';
import { applyRecordTheTutorialWay, type BaselineProjection } from './baselines/tutorial.js';
import { applyLatencyModel, type LatencyModel } from './latency-model.js';
import { meter, type Meter } from './meter.js';

/** The read models a contender ended with, in one shape for comparing with the truth. */
export interface ReadModels {
  readonly customerTotals: Map<string, Record<string, unknown>>;
  readonly statusCounts: Map<string, Record<string, unknown>>;
  readonly orders: Map<string, Record<string, unknown>>;
}

export interface Contender {
  readonly meter: Meter;
  handle(batch: readonly Record<string, unknown>[]): Promise<void>;
  readModels(): Promise<ReadModels>;
}

export interface ContenderKind {
  readonly name: string;
  readonly label: string;
  setup(endpoint: string, projections: readonly Projection[], run: string, model?: LatencyModel): Promise<Contender>;
}

/** Every contender's client is made here: metered, and paced by the latency model when there is one. */
function meteredClient(endpoint: string, model: LatencyModel | undefined): { client: DynamoDBClient; meter: Meter } {
  const client = createDynamoDbClient({ endpoint });
  if (model !== undefined) applyLatencyModel(client, model);
  return { client, meter: meter(client) };
}

async function baselineTable(client: DynamoDBClient, name: string): Promise<void> {
  await ensureTable(client, {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  });
}

/** The baselines keep all their rows in one table, `pk` = `<projection>#<key>`. */
async function baselineReadModels(client: DynamoDBClient, table: string): Promise<ReadModels> {
  const models: ReadModels = { customerTotals: new Map(), statusCounts: new Map(), orders: new Map() };
  const scan = pages((startKey: Record<string, AttributeValue> | undefined) =>
    client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: startKey })),
  );
  for await (const items of scan) {
    for (const raw of items) {
      const { pk, ...row } = unmarshall(raw) as { pk: string } & Record<string, unknown>;
      const [projection, key = ''] = pk.split('#');
      if (projection === 'customer-totals') {
        if (Number(row.orders ?? 0) !== 0 || Number(row.amount ?? 0) !== 0) models.customerTotals.set(key, row);
      } else if (projection === 'order-status-counts') {
        if (Number(row.orders ?? 0) !== 0) models.statusCounts.set(key, row);
      } else {
        models.orders.set(key, row);
      }
    }
  }
  return models;
}

const names = (projections: readonly Projection[]) => new Set(projections.map((projection) => projection.name as BaselineProjection));

/** A: the tutorial handler, records one after the other, an UpdateCommand with ADD per change. */
export const tutorial: ContenderKind = {
  name: 'A',
  label: 'A: UpdateCommand ADD per record',
  async setup(endpoint, projections, run, model) {
    const { client, meter: counts } = meteredClient(endpoint, model);
    const table = `bench-a-${run}`;
    await baselineTable(client, table);
    counts.reset();
    const documents = DynamoDBDocumentClient.from(client);
    const wanted = names(projections);
    return {
      meter: counts,
      handle: async (batch) => {
        for (const record of batch) await applyRecordTheTutorialWay(documents, table, wanted, record);
      },
      readModels: () => baselineReadModels(client, table),
    };
  },
};

type RecordHandler = (record: Record<string, unknown>) => Promise<unknown>;

/** B and C: the tutorial's per-record logic run by Powertools' BatchProcessor, wrapped as each contender does. */
function powertoolsContender(
  name: string,
  label: string,
  wrap: (apply: RecordHandler, client: DynamoDBClient, run: string) => Promise<RecordHandler>,
): ContenderKind {
  return {
    name,
    label,
    async setup(endpoint, projections, run, model) {
      const { client, meter: counts } = meteredClient(endpoint, model);
      const table = `bench-${name.toLowerCase()}-${run}`;
      await baselineTable(client, table);
      const documents = DynamoDBDocumentClient.from(client);
      const wanted = names(projections);
      const recordHandler = await wrap((record) => applyRecordTheTutorialWay(documents, table, wanted, record), client, run);
      counts.reset();
      const processor = new BatchProcessor(EventType.DynamoDBStreams);
      return {
        meter: counts,
        handle: async (batch) => {
          await processPartialResponse({ Records: batch } as never, recordHandler as never, processor);
        },
        readModels: () => baselineReadModels(client, table),
      };
    },
  };
}

/** B: the same logic in Powertools' BatchProcessor, with a partial batch response. */
export const powertoolsBatch = powertoolsContender('B', 'B: Powertools BatchProcessor', async (apply) => apply);

/** C: B, with Powertools' idempotency utility around each record (keyed by its eventID). */
export const powertoolsIdempotent = powertoolsContender('C', 'C: B + Powertools idempotency', async (apply, client, run) => {
  const idempotencyTable = `bench-c-idempotency-${run}`;
  await ensureTable(client, {
    TableName: idempotencyTable,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  });
  const config = new IdempotencyConfig({ eventKeyJmesPath: 'eventID' });
  // As in Lambda, where the handler registers its context (it bounds how long a record stays in progress).
  config.registerLambdaContext({ getRemainingTimeInMillis: () => 300_000 } as never);
  return makeIdempotent(apply, {
    persistenceStore: new DynamoDBPersistenceLayer({ tableName: idempotencyTable, awsSdkV3Client: client }),
    config,
  });
});

export const streamfold: ContenderKind = {
  name: 'streamfold',
  label: 'streamfold',
  async setup(endpoint, projections, run, model) {
    const { client, meter: counts } = meteredClient(endpoint, model);
    const tables = { readModels: `bench-s-rm-${run}`, checkpoints: `bench-s-cp-${run}`, parked: `bench-s-pk-${run}` };
    await createStreamfoldTables(client, tables);
    const handler = createHandler({
      projections,
      dynamoDbClient: client,
      logger: silentLogger,
      config: tableConfig(tables),
    });
    // The first invocation records the projections' current generation: setup, not work.
    await handler({ Records: [] });
    counts.reset();
    return {
      meter: counts,
      handle: async (batch) => {
        const response = await handler({ Records: batch });
        if (response.batchItemFailures.length > 0) throw new Error(`streamfold reported ${response.batchItemFailures[0]?.itemIdentifier}`);
      },
      readModels: async () => {
        const models: ReadModels = { customerTotals: new Map(), statusCounts: new Map(), orders: new Map() };
        for (const projection of projections) {
          const rows = await readAllRows(handler.store, projection);
          for (const row of rows) {
            if (projection.name === 'customer-totals') models.customerTotals.set(String(row.key), row.value);
            else if (projection.name === 'order-status-counts') models.statusCounts.set(String(row.key), row.value);
            else models.orders.set(String((row.key as { orderId: string }).orderId), row.value);
          }
        }
        return models;
      },
    };
  },
};

export const CONTENDERS: readonly ContenderKind[] = [tutorial, powertoolsBatch, powertoolsIdempotent, streamfold];
