import { chunk } from '../core/concurrency.js';
import type { DeliveryTotals } from './lambda-driver.js';
import { deliverBatch, emptyTotals, type BatchHandler } from './lambda-driver.js';
import type { StreamSource } from './ports.js';
import { readShards } from './stream-reader.js';

export interface PollOptions {
  readonly source: StreamSource;
  readonly streamArn: string;
  readonly handle: BatchHandler;
  readonly batchSize?: number;
  readonly maxRetries?: number;
  /**
   * Empty reads after which an open shard counts as drained. DynamoDB Local never closes its one shard,
   * and a real open shard is never done either: the poller reads what is there now.
   */
  readonly idleReads?: number;
}

/**
 * A development stand-in for Lambda's event source mapping: reads every shard of a stream from its trim
 * horizon, parents before children, and hands the records to the handler in batches.
 */
export async function pollStream(options: PollOptions): Promise<DeliveryTotals> {
  const totals = emptyTotals();
  for await (const shard of readStream(options.source, options.streamArn, options.idleReads)) {
    await deliverPage(shard.records, options, totals);
  }
  return totals;
}

/** Every record of every shard, shard by shard (a parent before its children), in Lambda's record shape. */
export async function* readStream(
  source: StreamSource,
  streamArn: string,
  idleReads = 3,
): AsyncGenerator<{ shardId: string; records: unknown[] }> {
  const byShard = new Map<string, unknown[]>();
  await readShards({ source, streamArn, from: 'TRIM_HORIZON', follow: false, idleReads }, async (page) => {
    const records = byShard.get(page.shardId) ?? [];
    byShard.set(page.shardId, records);
    for (const record of page.records) records.push(record);
  });
  for (const [shardId, records] of byShard) yield { shardId, records };
}

export interface FollowOptions extends PollOptions {
  readonly from: 'LATEST' | 'TRIM_HORIZON';
  /** Set to stop: the follower then reads until a read comes back empty, and returns. */
  readonly stop: { stopped: boolean };
  readonly pauseMs?: number;
  /** Called once every shard has its iterator: from then on, no change of the table is missed. */
  readonly onReading?: () => void;
}

/**
 * Follows a stream the way a live Lambda consumer does, from its latest record (or the trim horizon),
 * delivering each read as a batch, until told to stop and caught up.
 */
export async function followStream(options: FollowOptions): Promise<DeliveryTotals> {
  const totals = emptyTotals();
  await readShards(
    {
      source: options.source,
      streamArn: options.streamArn,
      from: options.from,
      follow: true,
      shouldStop: () => options.stop.stopped,
      drainOnStop: true,
      pauseMs: options.pauseMs ?? 50,
      onReading: options.onReading,
    },
    (page) => deliverPage(page.records, options, totals),
  );
  return totals;
}

/** One read of a shard, delivered as Lambda would: in batches of at most `batchSize`. */
export async function deliverPage(
  records: readonly unknown[],
  options: { readonly handle: BatchHandler; readonly batchSize?: number; readonly maxRetries?: number },
  totals: DeliveryTotals,
): Promise<void> {
  for (const batch of chunk(records, options.batchSize ?? 100)) {
    await deliverBatch(batch, options.handle, options.maxRetries ?? 3, totals);
  }
}
