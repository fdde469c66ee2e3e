import type { ShardInfo, ShardPosition, StreamSource } from './ports.js';

export interface ReadShardsOptions {
  readonly source: StreamSource;
  readonly streamArn: string;
  /** Where shards open at the start are read from; shards found later are always read from their start. */
  readonly from: 'TRIM_HORIZON' | 'LATEST';
  /**
   * Keep reading: open shards are polled, and new shards looked for, until told to stop. Otherwise every
   * shard is read to its end, or (an open shard, which has no end) until `idleReads` reads come back empty.
   */
  readonly follow: boolean;
  /** Asked before every read: once it answers true, the readers return. */
  readonly shouldStop?: () => boolean;
  /** Wakes a pause early when stopping. */
  readonly signal?: AbortSignal;
  /** When stopping, read on until a read comes back empty, so that what is already written is delivered. */
  readonly drainOnStop?: boolean;
  readonly idleReads?: number;
  /** Pause after an empty read of an open shard, while following. */
  readonly pauseMs?: number;
  /** How often the stream is described again while following, to find the children of closed shards. */
  readonly describeEveryMs?: number;
  /** Called once the shards open at the start have their iterators: from then on, no change is missed. */
  readonly onReading?: () => void;
}

export interface ShardPage {
  readonly shardId: string;
  /** In Lambda's record shape, with the stream's ARN as `eventSourceARN`. */
  readonly records: readonly Record<string, unknown>[];
}

/**
 * Reads a stream the way Lambda's event source mapping does: every shard, a parent to its end before its
 * children (DynamoDB orders an item's changes across a split only that way), shards of different
 * lineages side by side. Each non-empty read is handed to `onPage`, in order within its shard. Answers how
 * many shards were read.
 */
export async function readShards(options: ReadShardsOptions, onPage: (page: ShardPage) => Promise<void>): Promise<number> {
  const known = new Map<string, ShardInfo>();
  const finished = new Set<string>();
  const running = new Map<string, Promise<void>>();
  let failure: unknown;
  // A shard that failed stops the others too: the error is the answer.
  const stopping = (): boolean => failure !== undefined || options.shouldStop?.() === true;
  let first = true;
  for (;;) {
    if (!stopping()) {
      for (const shard of await options.source.shards(options.streamArn)) known.set(shard.shardId, shard);
      const starting = [...known.values()].flatMap((shard): { shard: ShardInfo; position: ShardPosition }[] => {
        if (finished.has(shard.shardId) || running.has(shard.shardId)) return [];
        const parent = shard.parentShardId;
        if (parent !== undefined && known.has(parent) && !finished.has(parent)) return [];
        if (first && options.from === 'LATEST' && shard.closed === true) {
          // Nothing will be added to a shard closed before we came: there is nothing after its latest record.
          finished.add(shard.shardId);
          return [];
        }
        return [{ shard, position: { type: first ? options.from : 'TRIM_HORIZON' } }];
      });
      const iterators = await Promise.all(
        starting.map(({ shard, position }) => options.source.iterator(options.streamArn, shard.shardId, position)),
      );
      if (first) options.onReading?.();
      first = false;
      starting.forEach(({ shard, position }, index) => {
        const reading = readShard(options, shard, position, iterators[index] as string, onPage, stopping).then(
          () => {
            finished.add(shard.shardId);
          },
          (error: unknown) => {
            failure ??= error;
          },
        );
        running.set(shard.shardId, reading.finally(() => running.delete(shard.shardId)));
      });
    }
    // Stopping: the readers finish their page in hand and return; they are awaited below. Racing them here
    // instead would spin, since a pause ends at once when the signal has fired: a loop of microtasks that never
    // lets the readers' requests complete, until the heap runs out (Ctrl-C during a batch, in `run`).
    if (failure !== undefined || stopping()) break;
    if (running.size === 0) {
      if (!options.follow) break;
      // Every shard read and closed, and its children not made yet: look again in a while.
      await pause(options.describeEveryMs ?? 10_000, options.signal);
      continue;
    }
    await Promise.race([...running.values(), ...(options.follow ? [pause(options.describeEveryMs ?? 10_000, options.signal)] : [])]);
  }
  await Promise.allSettled(running.values());
  if (failure !== undefined) throw failure;
  return finished.size;
}

async function readShard(
  options: ReadShardsOptions,
  shard: ShardInfo,
  start: ShardPosition,
  firstIterator: string,
  onPage: (page: ShardPage) => Promise<void>,
  stopping: () => boolean,
): Promise<void> {
  const idleReads = options.idleReads ?? 3;
  let iterator: string | undefined = firstIterator;
  let last: string | undefined;
  let empty = 0;
  while (iterator !== undefined) {
    if (stopping() && options.drainOnStop !== true) return;
    const page = await options.source.read(iterator);
    if (page.expired === true) {
      // An iterator lives 15 minutes: a new one from after the last record read loses nothing.
      iterator = await options.source.iterator(
        options.streamArn,
        shard.shardId,
        last === undefined ? start : { type: 'AFTER_SEQUENCE_NUMBER', sequence: last },
      );
      continue;
    }
    iterator = page.nextIterator;
    if (page.records.length > 0) {
      empty = 0;
      const records = page.records.map((record) => ({ ...(record as Record<string, unknown>), eventSourceARN: options.streamArn }));
      last = sequenceOf(records[records.length - 1]) ?? last;
      await onPage({ shardId: shard.shardId, records });
      continue;
    }
    empty += 1;
    if (stopping()) return;
    if (!options.follow && shard.closed !== true && empty >= idleReads) return;
    if (options.follow) await pause(options.pauseMs ?? 250, options.signal);
  }
}

function sequenceOf(record: Record<string, unknown> | undefined): string | undefined {
  const sequence = (record?.dynamodb as { SequenceNumber?: unknown } | undefined)?.SequenceNumber;
  return typeof sequence === 'string' ? sequence : undefined;
}

/** Waits, or less when the signal fires. */
function pause(milliseconds: number, signal: AbortSignal | undefined): Promise<void> {
  if (milliseconds <= 0 || signal?.aborted === true) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, milliseconds);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
