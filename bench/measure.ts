import { ordersDifferences, ordersTruth } from '../demo/orders-truth.js';
import type { Projection } from '../src/projection/define.js';
import { seededRandom } from '../src/testing/random.js';
import type { ContenderKind } from './contenders.js';
import type { LatencyModel } from './latency-model.js';
import { heapSampler } from './meter.js';
import type { BenchWorkload } from './workload.js';

/** One contender in one configuration: what `bench/results/*.json` holds, one entry each. */
export interface RunResult {
  readonly contender: string;
  readonly projections: string;
  readonly batchSize: number;
  readonly redelivered: number;
  /** `none`: DynamoDB Local as it answers; otherwise the latency model the run was paced by. */
  readonly latencyModel: string;
  readonly records: number;
  readonly deliveredRecords: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly requests: Record<string, number>;
  readonly requestsPerRecord: number;
  readonly writeUnitsPerRecord: number;
  readonly peakHeapMb: number;
  readonly exact: boolean;
  readonly differences: number;
}

export interface Configuration {
  readonly projections: readonly Projection[];
  readonly batchSize: number;
  readonly redelivered: number;
  readonly model: LatencyModel | undefined;
}

/** Delivers the workload in batches (some delivered twice), then compares the read models with the truth. */
export async function measure(contender: ContenderKind, endpoint: string, workload: BenchWorkload, configuration: Configuration, run: string): Promise<RunResult> {
  const { projections, batchSize, redelivered, model } = configuration;
  const instance = await contender.setup(endpoint, projections, run, model);
  const random = seededRandom(batchSize * 1000 + Math.round(redelivered * 100));
  const batches: Record<string, unknown>[][] = [];
  for (let start = 0; start < workload.records.length; start += batchSize) {
    const batch = workload.records.slice(start, start + batchSize);
    batches.push(batch);
    if (random() < redelivered) batches.push(batch); // at least once: Lambda delivers the batch again
  }
  const delivered = batches.reduce((total, batch) => total + batch.length, 0);
  const sampler = heapSampler();
  const started = process.hrtime.bigint();
  for (const batch of batches) await instance.handle(batch);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peakHeapMb = sampler.stop() / 1024 / 1024;
  const { requests, byCommand, billedWriteUnits } = instance.meter;

  const models = await instance.readModels();
  const wanted = new Set(projections.map((projection) => projection.name));
  const differences = ordersDifferences(
    {
      customerTotals: wanted.has('customer-totals') ? models.customerTotals : undefined,
      statusCounts: wanted.has('order-status-counts') ? models.statusCounts : undefined,
      orders: wanted.has('order-view') ? models.orders : undefined,
    },
    ordersTruth(workload.finalItems),
  );
  return {
    contender: contender.name,
    projections: label(projections),
    batchSize,
    redelivered,
    latencyModel: model?.name ?? 'none',
    records: workload.records.length,
    deliveredRecords: delivered,
    seconds,
    recordsPerSecond: workload.records.length / seconds,
    requests: { ...byCommand },
    requestsPerRecord: requests / workload.records.length,
    writeUnitsPerRecord: billedWriteUnits / workload.records.length,
    peakHeapMb,
    exact: differences.length === 0,
    differences: differences.length,
  };
}

export function label(projections: readonly Projection[]): string {
  return projections.length === 1 ? (projections[0]?.name ?? '') : `${projections.length} projections`;
}
