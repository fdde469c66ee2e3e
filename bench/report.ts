import type { RunResult } from './measure.js';

const sameConfiguration = (a: RunResult, b: RunResult): boolean =>
  a.projections === b.projections && a.batchSize === b.batchSize && a.redelivered === b.redelivered && a.latencyModel === b.latencyModel;

/** One line per contender and configuration, with ratios to B and C measured in the same configuration and run. */
export function printTable(results: readonly RunResult[]): void {
  console.log('\nratios are to B (Powertools BatchProcessor) and C (B + Powertools idempotency) in the same configuration and run');
  console.log(
    ['contender', 'projections', 'batch', 'redel.', 'latency', 'records/s', '×B', '×C', 'req/rec', 'WCU/rec', '×B', '×C', 'heap MB', 'exact'].join('\t'),
  );
  for (const result of results) {
    const b = results.find((other) => other.contender === 'B' && sameConfiguration(other, result));
    const c = results.find((other) => other.contender === 'C' && sameConfiguration(other, result));
    console.log(
      [
        result.contender,
        result.projections,
        result.batchSize,
        `${result.redelivered * 100}%`,
        result.latencyModel,
        result.recordsPerSecond.toFixed(0),
        ratio(result.recordsPerSecond, b?.recordsPerSecond),
        ratio(result.recordsPerSecond, c?.recordsPerSecond),
        result.requestsPerRecord.toFixed(3),
        result.writeUnitsPerRecord.toFixed(2),
        ratio(result.writeUnitsPerRecord, b?.writeUnitsPerRecord),
        ratio(result.writeUnitsPerRecord, c?.writeUnitsPerRecord),
        result.peakHeapMb.toFixed(1),
        result.exact ? 'yes' : `no (${result.differences})`,
      ].join('\t'),
    );
  }
}

function ratio(value: number, base: number | undefined): string {
  return base === undefined || base === 0 ? '-' : (value / base).toFixed(2);
}
