import { mkdir, writeFile } from 'node:fs/promises';
import { createDynamoDbClient } from '../adapters/dynamodb/client.js';
import { startDynamoDbLocal } from '../demo/dynamodb-local.js';
import { ordersDifferences, ordersTruth } from '../demo/orders-truth.js';
import { seededRandom } from '../src/testing/random.js';
import type { Projection } from '../src/projection/define.js';
import examples from '../projections/index.js';
import { customerTotals } from '../projections/customer-totals.js';
import { CONTENDERS, type ContenderKind } from './contenders.js';
import { heapSampler } from './meter.js';
import { inMemoryBenchmark } from './in-memory.js';
import { benchWorkload, type BenchWorkload } from './workload.js';

/**
 * streamfold against the usual ways of doing this, side by side in one process on one DynamoDB Local, on a
 * fixed seeded workload of real stream records. `npm run bench` (add `-- --quick` for a fifth of it, or
 * `-- --in-memory` for the in-memory comparison alone).
 */
const quick = process.argv.includes('--quick');
/** Only the in-memory comparison (decode, order and fold against bare unmarshall), on the cached workload. */
const inMemoryOnly = process.argv.includes('--in-memory');
const PARAMETERS = quick
  ? { seed: 7, operations: 4_000, orders: 400, customers: 40 }
  : { seed: 7, operations: 20_000, orders: 2_000, customers: 200 };
const BATCH_SIZES = [100, 1000];
const REDELIVERY = [0, 0.1];

interface RunResult {
  readonly contender: string;
  readonly projections: string;
  readonly batchSize: number;
  readonly redelivered: number;
  readonly records: number;
  readonly deliveredRecords: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly requestsPerRecord: number;
  readonly writeUnitsPerRecord: number;
  readonly peakHeapMb: number;
  readonly exact: boolean;
  readonly differences: number;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const server = await startDynamoDbLocal();
  try {
    const client = createDynamoDbClient({ endpoint: server.endpoint });
    console.log(`DynamoDB Local on ${server.endpoint}; writing or loading the workload ${JSON.stringify(PARAMETERS)}`);
    const workload = await benchWorkload(client, server.endpoint, PARAMETERS);
    console.log(`${workload.records.length} stream records, ${workload.finalItems.length} orders left in the table`);

    const results: RunResult[] = [];
    if (!inMemoryOnly) await warmUp(server.endpoint, workload);
    let run = 0;
    for (const projections of (inMemoryOnly ? [] : [[customerTotals], examples]) as Projection[][]) {
      for (const batchSize of BATCH_SIZES) {
        for (const redelivered of REDELIVERY) {
          for (const contender of CONTENDERS) {
            run += 1;
            const result = await measure(contender, server.endpoint, workload, projections, batchSize, redelivered, `r${run}-${Date.now()}`);
            results.push(result);
            console.log(
              `  ${contender.label.padEnd(32)} ${label(projections).padEnd(16)} batch ${String(batchSize).padStart(4)}` +
                ` redelivered ${String(redelivered * 100).padStart(2)}%: ${result.recordsPerSecond.toFixed(0).padStart(6)} records/s` +
                ` ${result.requestsPerRecord.toFixed(3)} req/record ${result.writeUnitsPerRecord.toFixed(2)} WCU/record exact=${result.exact}`,
            );
          }
        }
      }
    }
    const inMemory = await inMemoryBenchmark(workload.records.length >= 10_000 ? workload.records : repeatTo(workload.records, 20_000), [customerTotals]);
    if (results.length > 0) printTable(results);
    console.log(
      `\nin memory, ${inMemory.records} records: bare unmarshall ${inMemory.unmarshallPerSecond.toFixed(0)} records/s; ` +
        `streamfold decode + order + fold ${inMemory.decodeOrderFoldPerSecond.toFixed(0)} records/s (ratio ${inMemory.ratio.toFixed(2)}); ` +
        `heap for a batch of 10,000 records ${inMemory.heapFor10kBatchMb.toFixed(1)} MB`,
    );
    await mkdir('bench/results', { recursive: true });
    const file = `bench/results/${quick ? 'quick' : 'full'}-${new Date().toISOString().replaceAll(':', '-')}.json`;
    await writeFile(file, JSON.stringify({ parameters: PARAMETERS, records: workload.records.length, results, inMemory }, null, 2));
    console.log(`results written to ${file}`);
  } finally {
    await server.stop();
  }
}

/** DynamoDB Local runs its first couple of thousand requests at half speed: spend them before measuring. */
async function warmUp(endpoint: string, workload: BenchWorkload): Promise<void> {
  const sample = workload.records.slice(0, 3_000);
  for (const contender of CONTENDERS) {
    const warm = await contender.setup(endpoint, [customerTotals], `warm-${contender.name}-${Date.now()}`);
    for (let start = 0; start < sample.length; start += 100) await warm.handle(sample.slice(start, start + 100));
  }
}

async function measure(
  contender: ContenderKind,
  endpoint: string,
  workload: BenchWorkload,
  projections: readonly Projection[],
  batchSize: number,
  redelivered: number,
  run: string,
): Promise<RunResult> {
  const instance = await contender.setup(endpoint, projections, run);
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
  const { requests, billedWriteUnits } = instance.meter;

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
    records: workload.records.length,
    deliveredRecords: delivered,
    seconds,
    recordsPerSecond: workload.records.length / seconds,
    requestsPerRecord: requests / workload.records.length,
    writeUnitsPerRecord: billedWriteUnits / workload.records.length,
    peakHeapMb,
    exact: differences.length === 0,
    differences: differences.length,
  };
}

function label(projections: readonly Projection[]): string {
  return projections.length === 1 ? (projections[0]?.name ?? '') : `${projections.length} projections`;
}

function repeatTo(records: readonly Record<string, unknown>[], count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => records[index % records.length] as Record<string, unknown>);
}

function printTable(results: readonly RunResult[]): void {
  console.log('\nratios are to baseline A in the same configuration');
  console.log(
    ['contender', 'projections', 'batch', 'redel.', 'records/s', '×A', 'req/rec', '×A', 'WCU/rec', '×A', 'heap MB', 'exact'].join('\t'),
  );
  for (const result of results) {
    const a = results.find(
      (other) =>
        other.contender === 'A' &&
        other.projections === result.projections &&
        other.batchSize === result.batchSize &&
        other.redelivered === result.redelivered,
    );
    const ratio = (value: number, base: number | undefined) => (base === undefined || base === 0 ? '-' : (value / base).toFixed(2));
    console.log(
      [
        result.contender,
        result.projections,
        result.batchSize,
        `${result.redelivered * 100}%`,
        result.recordsPerSecond.toFixed(0),
        ratio(result.recordsPerSecond, a?.recordsPerSecond),
        result.requestsPerRecord.toFixed(3),
        ratio(result.requestsPerRecord, a?.requestsPerRecord),
        result.writeUnitsPerRecord.toFixed(2),
        ratio(result.writeUnitsPerRecord, a?.writeUnitsPerRecord),
        result.peakHeapMb.toFixed(1),
        result.exact ? 'yes' : `no (${result.differences})`,
      ].join('\t'),
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
