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
    for (let start = 0; start < shard.records.length; start += batchSize) {
      await deliverBatch(shard.records.slice(start, start + batchSize), options.handle, options.maxRetries ?? 3, totals);
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
