import { mkdir, writeFile } from 'node:fs/promises';
import { createDynamoDbClient } from '../adapters/dynamodb/client.js';
import { startDynamoDbLocal } from '../demo/dynamodb-local.js';
import type { Projection } from '../src/projection/define.js';
import examples, { orderView } from '../projections/index.js';
import { customerTotals } from '../projections/customer-totals.js';
import { CONTENDERS, type ContenderKind } from './contenders.js';
import { inMemoryBenchmark } from './in-memory.js';
import { DYNAMODB_P50_MODEL, type LatencyModel } from './latency-model.js';
import { label, measure, type RunResult } from './measure.js';
import { printTable } from './report.js';
import { benchWorkload, type BenchWorkload } from './workload.js';

/**
 * streamfold against the usual ways of doing this, side by side in one process on one DynamoDB Local, on a
 * fixed seeded workload of real stream records: first as DynamoDB Local answers, then paced by a latency
 * model of real DynamoDB. `npm run bench`; `-- --quick` for a fifth of it; `-- --latency-model=raw` (or
 * `=modelled`) for one pass only; `-- --in-memory` for the in-memory comparison alone.
 */
const quick = process.argv.includes('--quick');
const inMemoryOnly = process.argv.includes('--in-memory');
const pass = (process.argv.find((argument) => argument.startsWith('--latency-model='))?.split('=')[1] ?? 'both') as 'both' | 'raw' | 'modelled';
if (!['both', 'raw', 'modelled'].includes(pass)) throw new Error(`--latency-model takes raw, modelled or both, not ${pass}`);
const PARAMETERS = quick
  ? { seed: 7, operations: 4_000, orders: 400, customers: 40 }
  : { seed: 7, operations: 20_000, orders: 2_000, customers: 200 };
const PROJECTIONS: readonly (readonly Projection[])[] = [[customerTotals], [orderView], examples];
const BATCH_SIZES = [100, 1000];
const REDELIVERY = [0, 0.1];
/**
 * The latency model paces every contender but A, the tutorial handler: it sends one record's writes after the
 * other's, so its modelled time is its request count times the latency (about 19,000 × 7.6 ms a run).
 */
const MODELLED_CONTENDERS = new Set(['B', 'C', 'streamfold']);

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const server = await startDynamoDbLocal();
  try {
    const client = createDynamoDbClient({ endpoint: server.endpoint });
    console.log(`DynamoDB Local on ${server.endpoint}; writing or loading the workload ${JSON.stringify(PARAMETERS)}`);
    const workload = await benchWorkload(client, server.endpoint, PARAMETERS);
    console.log(`${workload.records.length} stream records, ${workload.finalItems.length} orders left in the table`);

    const results: RunResult[] = [];
    if (!inMemoryOnly) {
      await warmUp(server.endpoint, workload);
      const models: (LatencyModel | undefined)[] = pass === 'both' ? [undefined, DYNAMODB_P50_MODEL] : pass === 'raw' ? [undefined] : [DYNAMODB_P50_MODEL];
      let run = 0;
      for (const model of models) {
        console.log(model === undefined ? '\nDynamoDB Local as it answers:' : `\npaced by the latency model ${model.name}: ${model.source}`);
        for (const projections of PROJECTIONS) {
          for (const batchSize of BATCH_SIZES) {
            for (const redelivered of REDELIVERY) {
              for (const contender of contendersOf(model)) {
                run += 1;
                const result = await measure(contender, server.endpoint, workload, { projections, batchSize, redelivered, model }, `r${run}-${Date.now()}`);
                results.push(result);
                console.log(
                  `  ${contender.label.padEnd(32)} ${label(projections).padEnd(19)} batch ${String(batchSize).padStart(4)}` +
                    ` redelivered ${String(redelivered * 100).padStart(2)}%: ${result.recordsPerSecond.toFixed(0).padStart(6)} records/s` +
                    ` ${result.requestsPerRecord.toFixed(3)} req/record ${result.writeUnitsPerRecord.toFixed(2)} WCU/record exact=${result.exact}`,
                );
              }
            }
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
    const latencyModels = pass === 'raw' ? [] : [{ name: DYNAMODB_P50_MODEL.name, source: DYNAMODB_P50_MODEL.source, connections: DYNAMODB_P50_MODEL.connections }];
    await writeFile(file, JSON.stringify({ parameters: PARAMETERS, records: workload.records.length, latencyModels, results, inMemory }, null, 2));
    console.log(`results written to ${file} (compare two runs with: npx tsx bench/compare.ts <before.json> <after.json>)`);
  } finally {
    await server.stop();
  }
}

function contendersOf(model: LatencyModel | undefined): readonly ContenderKind[] {
  return model === undefined ? CONTENDERS : CONTENDERS.filter((contender) => MODELLED_CONTENDERS.has(contender.name));
}

/** DynamoDB Local runs its first couple of thousand requests at half speed: spend them before measuring. */
async function warmUp(endpoint: string, workload: BenchWorkload): Promise<void> {
  const sample = workload.records.slice(0, 3_000);
  for (const contender of CONTENDERS) {
    const warm = await contender.setup(endpoint, [customerTotals], `warm-${contender.name}-${Date.now()}`);
    for (let start = 0; start < sample.length; start += 100) await warm.handle(sample.slice(start, start + 100));
  }
}

function repeatTo(records: readonly Record<string, unknown>[], count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => records[index % records.length] as Record<string, unknown>);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
