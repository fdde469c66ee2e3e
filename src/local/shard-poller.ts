import { chunk } from '../concurrency.js';
import type { DeliveryTotals } from './lambda-driver.js';
import { deliverBatch, emptyTotals, type BatchHandler } from './lambda-driver.js';
import type { ShardInfo, StreamSource } from './ports.js';

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
  const batchSize = options.batchSize ?? 100;
  const totals = emptyTotals();
  for await (const shard of readStream(options.source, options.streamArn, options.idleReads)) {
    for (const batch of chunk(shard.records, batchSize)) {
      await deliverBatch(batch, options.handle, options.maxRetries ?? 3, totals);
    }
  }
  return totals;
}

/** Every record of every shard, shard by shard (parents first), in Lambda's record shape. */
export async function* readStream(
  source: StreamSource,
  streamArn: string,
  idleReads = 3,
): AsyncGenerator<{ shardId: string; records: unknown[] }> {
  for (const shard of parentsFirst(await source.shards(streamArn))) {
    let iterator: string | undefined = await source.iterator(streamArn, shard.shardId, { type: 'TRIM_HORIZON' });
    const records: unknown[] = [];
    let empty = 0;
    while (iterator !== undefined && empty < idleReads) {
      const page = await source.read(iterator);
      iterator = page.nextIterator;
      empty = page.records.length === 0 ? empty + 1 : 0;
      for (const record of page.records) records.push({ ...(record as object), eventSourceARN: streamArn });
    }
    yield { shardId: shard.shardId, records };
  }
}

/** Lambda finishes a parent shard before its children; so does the poller. */
export function parentsFirst(shards: readonly ShardInfo[]): ShardInfo[] {
  const known = new Set(shards.map((shard) => shard.shardId));
  const done = new Set<string>();
  const ordered: ShardInfo[] = [];
  let remaining = [...shards];
  while (remaining.length > 0) {
    const ready = remaining.filter(
      (shard) => shard.parentShardId === undefined || !known.has(shard.parentShardId) || done.has(shard.parentShardId),
    );
    if (ready.length === 0) throw new Error('shard lineage has a cycle');
    for (const shard of ready) {
      ordered.push(shard);
      done.add(shard.shardId);
    }
    remaining = remaining.filter((shard) => !done.has(shard.shardId));
  }
  return ordered;
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
  const shards = parentsFirst(await options.source.shards(options.streamArn));
  const iterators = await Promise.all(
    shards.map((shard) => options.source.iterator(options.streamArn, shard.shardId, { type: options.from })),
  );
  options.onReading?.();
  await Promise.all(
    iterators.map(async (first) => {
      let iterator: string | undefined = first;
      while (iterator !== undefined) {
        const page = await options.source.read(iterator);
        iterator = page.nextIterator;
        const records = page.records.map((record) => ({ ...(record as object), eventSourceARN: options.streamArn }));
        for (const batch of chunk(records, options.batchSize ?? 100)) {
          await deliverBatch(batch, options.handle, options.maxRetries ?? 3, totals);
        }
        if (records.length === 0) {
          if (options.stop.stopped) return;
          await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 50));
        }
      }
    }),
  );
  return totals;
}
