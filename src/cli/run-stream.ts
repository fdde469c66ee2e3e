import type { UsageSnapshot } from '../../adapters/dynamodb/usage.js';
import { createHandler } from '../lambda/handler.js';
import type { Logger } from '../core/logging.js';
import { emptyTotals, type DeliveryTotals } from '../local/lambda-driver.js';
import { deliverPage } from '../local/shard-poller.js';
import { readShards } from '../local/stream-reader.js';
import { announce, connect, prepareTables, type ConnectionOptions } from './connection.js';
import { stopOnInterrupt } from './interrupt.js';
import type { Output } from './output.js';
import { progressPrinter } from './progress.js';
import { projectionsModule } from './projections-module.js';
import { streamOf } from './stream-of.js';

export interface RunOptions extends ConnectionOptions {
  readonly table: string;
  readonly projections: string;
  readonly from: 'trim-horizon' | 'latest';
  readonly batchSize: number;
  readonly maxRetries: number;
  readonly createTables: boolean;
}

export interface RunSummary {
  readonly table: string;
  readonly seconds: number;
  readonly totals: DeliveryTotals;
  readonly usage: UsageSnapshot;
}

/**
 * Follows a table's stream into the handler Lambda runs, batch by batch and shard by shard as an event
 * source mapping would, until Ctrl-C; then says what it applied. For development against DynamoDB Local
 * (or a table of a test account): one process per stream, as Lambda would run one per shard.
 */
export async function runStream(options: RunOptions, logger: Logger, output: Output): Promise<RunSummary> {
  const { projections, fanOut } = await projectionsModule(options.projections);
  const connection = connect({ ...options, sourceTable: options.table });
  await announce(connection, output);
  const { streamArn, source } = await streamOf(connection, options.table);
  await prepareTables(connection, ['readModels', 'checkpoints', 'parked'], options.createTables);
  const handler = createHandler({ projections, fanOut, dynamoDbClient: connection.client, logger, config: connection.config });
  const totals = emptyTotals();
  const started = Date.now();
  const status = progressPrinter<DeliveryTotals & { done: boolean }>(
    output.progress,
    { terminal: (now) => `following ${options.table}: ${statusOf(now)}`, plain: (now) => `streamfold: ${options.table}: ${statusOf(now)}` },
    { intervalMs: 10_000 },
  );
  const interrupt = stopOnInterrupt(() => output.notice('streamfold: stopping after the batch in hand (Ctrl-C again to quit at once)'));
  try {
    await readShards(
      {
        source,
        streamArn,
        from: options.from === 'latest' ? 'LATEST' : 'TRIM_HORIZON',
        follow: true,
        shouldStop: () => interrupt.signal.aborted,
        signal: interrupt.signal,
        onReading: () =>
          output.notice(
            `streamfold: following ${options.table} (${streamArn}) from the ${options.from === 'latest' ? 'latest record' : 'trim horizon'}; Ctrl-C stops`,
          ),
      },
      async (page) => {
        await deliverPage(page.records, { handle: (records) => handler.invoke({ Records: records }), batchSize: options.batchSize, maxRetries: options.maxRetries }, totals);
        status({ ...totals, done: false });
      },
    );
  } finally {
    interrupt.dispose();
  }
  if (output.progress.isTTY === true && totals.records > 0) output.progress.write('\n');
  return { table: options.table, seconds: (Date.now() - started) / 1000, totals, usage: handler.store.usage.snapshot() };
}

function statusOf(totals: DeliveryTotals): string {
  return `${totals.records} records, ${totals.applied} applied, ${totals.parked} parked, ${totals.stale + totals.duplicates} skipped, ${totals.failed} failed`;
}
