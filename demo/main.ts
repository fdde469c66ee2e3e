import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { createDynamoDbClient } from '../adapters/dynamodb/client.js';
import { SourceTable } from '../adapters/dynamodb/source-table.js';
import { DynamoDbStreamSource } from '../adapters/dynamodb/stream-source.js';
import { createStreamfoldTables } from '../adapters/dynamodb/tables.js';
import eventSourced from '../projections/event-sourced/index.js';
import exampleProjections from '../projections/index.js';
import { toExactJson } from '../src/records/json.js';
import { createHandler } from '../src/lambda/handler.js';
import { createLogger } from '../src/core/logging.js';
import { readAllRows } from '../src/projection/read-model.js';
import { startDynamoDbLocal } from './dynamodb-local.js';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { orderEventsWorkload } from './order-events-workload.js';
import { eventDifferences, eventTruth } from './order-events-truth.js';
import { applyWorkload, ordersWorkload } from './orders-workload.js';
import { ordersDifferences, ordersTruth } from './orders-truth.js';
import { pollStream } from '../src/local/shard-poller.js';

/**
 * The main job on the embedded default: DynamoDB Local, an `Orders` table with a stream, a seeded workload,
 * the real stream records through the Lambda handler, the read models printed and checked against a scan.
 */
async function main(): Promise<number> {
  const started = Date.now();
  // One screen for the demo: the SDK's notice that its 2027 releases need Node 22 is in the README instead.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const server = await startDynamoDbLocal();
  try {
    const client = createDynamoDbClient({ endpoint: server.endpoint });
    const orders = new SourceTable(client, { name: 'Orders', partitionKey: 'orderId', streamViewType: 'NEW_AND_OLD_IMAGES' });
    const streamArn = await orders.create();
    await createStreamfoldTables(client);
    console.log(`DynamoDB Local on ${server.endpoint} (pid ${server.pid}); table Orders with a NEW_AND_OLD_IMAGES stream`);

    const operations = ordersWorkload({ seed: 20261125, operations: 1500, customers: 12, maxOrders: 300 });
    await applyWorkload(orders, operations);
    const counts = { put: 0, update: 0, delete: 0 };
    for (const operation of operations) counts[operation.type] += 1;
    console.log(`wrote ${operations.length} changes: ${counts.put} inserts, ${counts.update} updates, ${counts.delete} deletes`);

    const handler = createHandler({
      projections: exampleProjections,
      dynamoDbClient: client,
      logger: createLogger('warn'),
    });
    const streams = new DynamoDBStreamsClient({ endpoint: server.endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const totals = await pollStream({
      source: new DynamoDbStreamSource(streams),
      streamArn,
      handle: (records) => handler.invoke({ Records: records }),
      batchSize: 100,
    });
    const usage = handler.store.usage.snapshot();
    console.log(
      `read ${totals.records} stream records in ${totals.batches} batches: ${totals.applied} applied, ` +
        `${totals.stale + totals.duplicates} skipped, ${totals.failed} failed; ` +
        `${usage.totalRequests} DynamoDB requests, ${usage.billedWriteUnits} billed write units`,
    );

    const [customerTotals, statusCounts, orderView] = exampleProjections;
    const stored = {
      customers: await readAllRows(handler.store, customerTotals!),
      statuses: await readAllRows(handler.store, statusCounts!),
      orders: await readAllRows(handler.store, orderView!),
    };
    console.log('\ncustomer-totals');
    for (const row of stored.customers) console.log(`  ${String(row.key).padEnd(8)} ${toExactJson(row.value)}`);
    console.log('order-status-counts');
    for (const row of stored.statuses) console.log(`  ${String(row.key).padEnd(10)} ${toExactJson(row.value)}`);
    console.log(`order-view: ${stored.orders.length} rows, the first three:`);
    for (const row of stored.orders.slice(0, 3)) console.log(`  ${toExactJson(row.key)} ${toExactJson(row.value)}`);

    const truth = ordersTruth(await orders.scan());
    const differences = ordersDifferences(
      {
        customerTotals: new Map(stored.customers.map((row) => [String(row.key), row.value])),
        statusCounts: new Map(stored.statuses.map((row) => [String(row.key), row.value])),
        orders: new Map(stored.orders.map((row) => [String((row.key as { orderId: unknown }).orderId), row.value])),
      },
      truth,
    );
    const events = await eventSourcedDemo(client, server.endpoint);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (differences.length === 0 && totals.failed === 0 && events.length === 0) {
      console.log(
        `\ncheck: PASS: the read models equal a fold of a scan of Orders (${truth.orders.size} orders, ` +
          `${truth.customerTotals.size} customers, ${truth.statusCounts.size} statuses) and of OrderEvents, in ${seconds} s`,
      );
      return 0;
    }
    console.log(`\ncheck: FAIL: ${differences.length + events.length} differences, ${totals.failed} records failed`);
    for (const difference of differences.slice(0, 20)) console.log(`  ${toExactJson(difference)}`);
    for (const difference of events.slice(0, 20)) console.log(`  ${difference}`);
    return 1;
  } finally {
    await server.stop();
  }
}

/**
 * The event-sourced side: an `OrderEvents` table written several events to a transaction, its real stream
 * records folded per stream in version order, checked against the events scanned back. Answers the
 * differences (none when all is well).
 */
async function eventSourcedDemo(client: DynamoDBClient, endpoint: string): Promise<string[]> {
  const table = new SourceTable(client, {
    name: 'OrderEvents',
    partitionKey: 'streamId',
    sortKey: 'version',
    sortKeyType: 'N',
    streamViewType: 'NEW_IMAGE',
  });
  const streamArn = await table.create();
  const transactions = orderEventsWorkload({ seed: 20261125, orders: 40, customers: 6 });
  for (const transaction of transactions) await table.append(transaction as unknown as Record<string, unknown>[]);
  const handler = createHandler({ projections: eventSourced, dynamoDbClient: client, logger: createLogger('warn') });
  const streams = new DynamoDBStreamsClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const totals = await pollStream({
    source: new DynamoDbStreamSource(streams),
    streamArn,
    handle: (records) => handler.invoke({ Records: records }),
    batchSize: 100,
  });
  const [history, revenue] = eventSourced;
  const historyRows = await readAllRows(handler.store, history!);
  const revenueRows = await readAllRows(handler.store, revenue!);
  console.log(
    `\nOrderEvents (an event log): ${transactions.length} transactions, ${totals.records} events folded per stream in version order`,
  );
  console.log('order-history, the first three:');
  for (const row of historyRows.slice(0, 3)) console.log(`  ${toExactJson(row.key)} ${toExactJson(row.value)}`);
  console.log('revenue-per-day, the first five days:');
  for (const row of revenueRows.slice(0, 5)) console.log(`  ${String(row.key)} ${toExactJson(row.value)}`);
  return eventDifferences(eventTruth(await table.scan()), historyRows, revenueRows);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
