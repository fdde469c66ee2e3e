import { unmarshall } from '@aws-sdk/util-dynamodb';
import { StreamConsumer } from '../src/consumer/consumer.js';
import { silentLogger } from '../src/core/logging.js';
import type { Projection } from '../src/projection/define.js';
import { StateLane } from '../src/projection/state-lane.js';
import { runtimesOf } from '../src/catalog/lanes.js';
import { ImageParser } from '../src/projection/typed-event.js';
import { decodeRecords } from '../src/records/decode.js';
import { orderByKey } from '../src/records/order.js';
import { MemoryReadModelStore } from '../src/testing/memory-store.js';
import { heapSampler } from './meter.js';

export interface InMemoryResult {
  readonly records: number;
  /** Bare `unmarshall` of each record's images. */
  readonly unmarshallPerSecond: number;
  /** streamfold's decode, per-item ordering and fold (no I/O). */
  readonly decodeOrderFoldPerSecond: number;
  readonly ratio: number;
  /** Heap taken while one batch of 10,000 records goes through the consumer, in MB. */
  readonly heapFor10kBatchMb: number;
}

const REPEATS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function timed(work: () => void): number {
  const started = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Decode, order and fold in memory against bare unmarshall of the same records, both measured here. */
export async function inMemoryBenchmark(records: readonly Record<string, unknown>[], projections: readonly Projection[]): Promise<InMemoryResult> {
  const bare = () => {
    for (const record of records) {
      const body = record.dynamodb as { NewImage?: Record<string, unknown>; OldImage?: Record<string, unknown> };
      if (body.NewImage !== undefined) unmarshall(body.NewImage as never);
      if (body.OldImage !== undefined) unmarshall(body.OldImage as never);
    }
  };
  const lane = new StateLane(projections);
  const fold = () => {
    const batch = orderByKey(decodeRecords(records));
    const parser = new ImageParser();
    const empty = { checkpoints: new Map(), viewRows: new Map() };
    const context = { parking: false, now: Date.now, parser, refused: new Map() };
    for (const run of batch.runs) lane.plan(run, empty, context);
  };
  // Warm both paths before measuring, then take the median of several runs, alternating.
  bare();
  fold();
  const bareSeconds: number[] = [];
  const foldSeconds: number[] = [];
  for (let repeat = 0; repeat < REPEATS; repeat += 1) {
    bareSeconds.push(timed(bare));
    foldSeconds.push(timed(fold));
  }
  const unmarshallPerSecond = records.length / median(bareSeconds);
  const decodeOrderFoldPerSecond = records.length / median(foldSeconds);

  const batch = records.slice(0, 10_000);
  (globalThis as { gc?: () => void }).gc?.();
  const sampler = heapSampler();
  const consumer = new StreamConsumer(runtimesOf(projections, new MemoryReadModelStore(), silentLogger), silentLogger);
  await consumer.process(batch);
  const heapFor10kBatchMb = sampler.stop() / 1024 / 1024;
  return {
    records: records.length,
    unmarshallPerSecond,
    decodeOrderFoldPerSecond,
    ratio: decodeOrderFoldPerSecond / unmarshallPerSecond,
    heapFor10kBatchMb,
  };
}
