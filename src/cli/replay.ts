import { createStreamfoldTables } from '../../adapters/dynamodb/tables.js';
import type { UsageSnapshot } from '../../adapters/dynamodb/usage.js';
import { chunk } from '../concurrency.js';
import { createHandler } from '../lambda/handler.js';
import type { Logger } from '../logging.js';
import { deliverBatch, emptyTotals, type DeliveryTotals } from '../local/lambda-driver.js';
import { connect, type ConnectionOptions } from './connection.js';
import { loadModule } from './load-projections.js';
import { readRecordsFile } from './read-records.js';

export interface ReplayOptions extends ConnectionOptions {
  readonly projections: string;
  readonly input: string;
  readonly batchSize: number;
  readonly maxRetries: number;
  readonly createTables: boolean;
}

export interface ReplaySummary {
  readonly totals: DeliveryTotals;
  readonly usage: UsageSnapshot;
}

/**
 * Runs a file of stream records through the handler Lambda runs, in Lambda-sized batches, retrying failed
 * records from the lowest failed sequence as Lambda would.
 */
export async function replay(options: ReplayOptions, logger: Logger): Promise<ReplaySummary> {
  const { projections, fanOut } = await loadModule(options.projections);
  const records = await readRecordsFile(options.input);
  const { client, config, tables } = connect(options);
  if (options.createTables) await createStreamfoldTables(client, tables);
  const handler = createHandler({ projections, fanOut, dynamoDbClient: client, logger, config });
  const totals = emptyTotals();
  for (const batch of chunk(records, options.batchSize)) {
    await deliverBatch(batch, (part) => handler.invoke({ Records: part }), options.maxRetries, totals);
  }
  return { totals, usage: handler.store.usage.snapshot() };
}

export function formatReplaySummary({ totals, usage }: ReplaySummary): string {
  const requests = Object.entries(usage.requests)
    .map(([operation, count]) => `${operation} ${count}`)
    .join(', ');
  const lines = [
    `replayed ${totals.records} records in ${totals.batches} batches (${totals.invocations} invocations)`,
    `  applied   ${totals.applied}`,
    `  parked    ${totals.parked}`,
    `  skipped   ${totals.stale + totals.duplicates} (${totals.duplicates} duplicate in a batch, ${totals.stale} already applied or stale)`,
    `  failed    ${totals.failed}`,
    `  DynamoDB  ${usage.totalRequests} requests (${requests || 'none'}); ${usage.billedWriteUnits} write units as billed, ${usage.consumedReadUnits} read units consumed`,
  ];
  for (const abandoned of totals.abandoned) {
    lines.push(`  gave up at sequence ${abandoned.sequence}: ${abandoned.error}`);
  }
  return lines.join('\n');
}
