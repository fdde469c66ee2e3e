import { readFile } from 'node:fs/promises';
import type { RunResult } from './measure.js';

/**
 * Two bench runs side by side: `npx tsx bench/compare.ts <before.json> <after.json>`. One line per contender
 * and configuration found in both, with the after/before ratio of records per second, requests and write
 * units per record. Runs on a loaded machine differ by their noise too: compare ratios within a run first.
 */
async function main(): Promise<void> {
  const [beforeFile, afterFile] = process.argv.slice(2);
  if (beforeFile === undefined || afterFile === undefined) {
    console.error('usage: npx tsx bench/compare.ts <before.json> <after.json>');
    process.exitCode = 2;
    return;
  }
  const [before, after] = await Promise.all([beforeFile, afterFile].map(async (file) => (JSON.parse(await readFile(file, 'utf8')) as { results: RunResult[] }).results));
  const keyOf = (result: RunResult) => [result.contender, result.projections, result.batchSize, result.redelivered, result.latencyModel ?? 'none'].join('|');
  const earlier = new Map((before ?? []).map((result) => [keyOf(result), result]));
  console.log(['contender', 'projections', 'batch', 'redel.', 'latency', 'records/s', 'after/before', 'req/rec', 'after/before', 'WCU/rec', 'after/before', 'exact'].join('\t'));
  for (const result of after ?? []) {
    const was = earlier.get(keyOf(result));
    if (was === undefined) continue;
    console.log(
      [
        result.contender,
        result.projections,
        result.batchSize,
        `${result.redelivered * 100}%`,
        result.latencyModel ?? 'none',
        `${was.recordsPerSecond.toFixed(0)} → ${result.recordsPerSecond.toFixed(0)}`,
        (result.recordsPerSecond / was.recordsPerSecond).toFixed(2),
        `${was.requestsPerRecord.toFixed(3)} → ${result.requestsPerRecord.toFixed(3)}`,
        (result.requestsPerRecord / was.requestsPerRecord).toFixed(2),
        `${was.writeUnitsPerRecord.toFixed(2)} → ${result.writeUnitsPerRecord.toFixed(2)}`,
        (result.writeUnitsPerRecord / was.writeUnitsPerRecord).toFixed(2),
        `${was.exact ? 'yes' : 'no'} → ${result.exact ? 'yes' : 'no'}`,
      ].join('\t'),
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
