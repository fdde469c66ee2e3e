import { describe, expect, it } from 'vitest';
import type { RecordPage, ShardInfo, ShardPosition, StreamSource } from '../../src/local/ports.js';
import { readShards, type ShardPage } from '../../src/local/stream-reader.js';

const ARN = 'arn:aws:dynamodb:eu-west-1:123456789012:table/Inventory/stream/2026-01-01T00:00:00.000';

const record = (sequence: number) => ({ eventID: `e-${sequence}`, dynamodb: { SequenceNumber: String(sequence).padStart(21, '0') } });

/**
 * A stream in memory: shards with their records, read a page of `pageSize` at a time. An open shard's
 * iterator never runs out (as on AWS and DynamoDB Local); a closed one's does at its end.
 */
function fakeStream(
  shards: (ShardInfo & { records: number[] })[],
  options: { pageSize?: number; expireOnce?: string } = {},
) {
  const reads: string[] = [];
  const positions: { shardId: string; position: ShardPosition }[] = [];
  let expire = options.expireOnce;
  const source: StreamSource = {
    shards: async () => shards.map(({ records: _records, ...shard }) => shard),
    iterator: async (_arn, shardId, position) => {
      positions.push({ shardId, position });
      const shard = shards.find((candidate) => candidate.shardId === shardId)!;
      const index =
        position.type === 'TRIM_HORIZON'
          ? 0
          : position.type === 'LATEST'
            ? shard.records.length
            : shard.records.findIndex((sequence) => sequence > Number(position.sequence));
      return `${shardId}@${index === -1 ? shard.records.length : index}`;
    },
    read: async (iterator): Promise<RecordPage> => {
      const [shardId, at] = iterator.split('@') as [string, string];
      reads.push(shardId);
      if (expire === shardId && Number(at) > 0) {
        expire = undefined;
        return { records: [], nextIterator: undefined, expired: true };
      }
      const shard = shards.find((candidate) => candidate.shardId === shardId)!;
      const start = Number(at);
      const page = shard.records.slice(start, start + (options.pageSize ?? 2));
      const end = start + page.length;
      const nextIterator = shard.closed === true && end >= shard.records.length ? undefined : `${shardId}@${end}`;
      return { records: page.map(record), nextIterator };
    },
  };
  return { source, reads, positions };
}

async function collect(source: StreamSource, options: Partial<Parameters<typeof readShards>[0]> = {}) {
  const pages: ShardPage[] = [];
  const shards = await readShards({ source, streamArn: ARN, from: 'TRIM_HORIZON', follow: false, idleReads: 2, ...options }, async (page) => {
    pages.push(page);
  });
  return { pages, shards };
}

const sequences = (pages: readonly ShardPage[], shardId?: string) =>
  pages
    .filter((page) => shardId === undefined || page.shardId === shardId)
    .flatMap((page) => page.records.map((entry) => Number((entry.dynamodb as { SequenceNumber: string }).SequenceNumber)));

describe('reading a stream shard by shard', () => {
  it('reads a parent to its end before its children, and every record once, with the stream ARN', async () => {
    const { source } = fakeStream([
      { shardId: 'child-b', parentShardId: 'parent', records: [20, 21] },
      { shardId: 'parent', parentShardId: undefined, closed: true, records: [1, 2, 3, 4, 5] },
      { shardId: 'child-a', parentShardId: 'parent', closed: true, records: [10, 11, 12] },
      { shardId: 'grandchild', parentShardId: 'child-a', records: [30] },
    ]);
    const { pages, shards } = await collect(source);
    expect(shards).toBe(4);
    const order = pages.map((page) => page.shardId);
    expect(order.lastIndexOf('parent')).toBeLessThan(order.indexOf('child-a'));
    expect(order.lastIndexOf('parent')).toBeLessThan(order.indexOf('child-b'));
    expect(order.lastIndexOf('child-a')).toBeLessThan(order.indexOf('grandchild'));
    expect(sequences(pages).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 10, 11, 12, 20, 21, 30]);
    expect(sequences(pages, 'parent')).toEqual([1, 2, 3, 4, 5]);
    expect(pages.every((page) => page.records.every((entry) => entry.eventSourceARN === ARN))).toBe(true);
  });

  it('reads a shard whose parent has been trimmed away as a root', async () => {
    const { source } = fakeStream([{ shardId: 'orphan', parentShardId: 'trimmed', records: [7, 8] }]);
    expect(sequences((await collect(source)).pages)).toEqual([7, 8]);
  });

  it('from the latest record, skips shards closed before it started and reads only what comes after', async () => {
    const stream = fakeStream([
      { shardId: 'old', parentShardId: undefined, closed: true, records: [1, 2] },
      { shardId: 'open', parentShardId: 'old', records: [3, 4] },
    ]);
    const { pages } = await collect(stream.source, { from: 'LATEST' });
    expect(pages).toEqual([]);
    expect(stream.positions).toEqual([{ shardId: 'open', position: { type: 'LATEST' } }]);
  });

  it('gets a new iterator after the last record read when one expires, losing nothing and repeating nothing', async () => {
    const stream = fakeStream([{ shardId: 'only', parentShardId: undefined, closed: true, records: [1, 2, 3, 4, 5] }], {
      expireOnce: 'only',
    });
    const { pages } = await collect(stream.source);
    expect(sequences(pages)).toEqual([1, 2, 3, 4, 5]);
    expect(stream.positions[1]).toEqual({ shardId: 'only', position: { type: 'AFTER_SEQUENCE_NUMBER', sequence: '000000000000000000002' } });
  });

  it('following, stops when told, after delivering the page in hand', async () => {
    const stream = fakeStream([{ shardId: 'open', parentShardId: undefined, records: [1, 2, 3, 4, 5, 6] }]);
    const controller = new AbortController();
    const pages: ShardPage[] = [];
    await readShards(
      { source: stream.source, streamArn: ARN, from: 'TRIM_HORIZON', follow: true, shouldStop: () => controller.signal.aborted, signal: controller.signal, pauseMs: 1 },
      async (page) => {
        pages.push(page);
        if (pages.length === 2) controller.abort();
      },
    );
    expect(sequences(pages)).toEqual([1, 2, 3, 4]);
  });

  it('a failing read fails the whole read, with its error', async () => {
    const stream = fakeStream([{ shardId: 'open', parentShardId: undefined, records: [1] }]);
    const failing: StreamSource = { ...stream.source, read: async () => Promise.reject(new Error('TrimmedDataAccessException')) };
    await expect(collect(failing)).rejects.toThrow('TrimmedDataAccessException');
  });
});
