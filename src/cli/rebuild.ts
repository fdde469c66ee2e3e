import { DynamoDbRebuildStateStore, DynamoDbGenerationRegistry } from '../../adapters/dynamodb/rebuild-state.js';
import { DynamoDbSourceScanner } from '../../adapters/dynamodb/scanner.js';
import { DynamoDbReadModelStore } from '../../adapters/dynamodb/store.js';
import type { UsageSnapshot } from '../../adapters/dynamodb/usage.js';
import { compose } from '../container.js';
import { toExactJson } from '../records/json.js';
import type { Logger } from '../core/logging.js';
import { currentGeneration } from '../projection/read-model.js';
import { progressBar, progressLine } from '../rebuild/progress.js';
import { assertRebuildable, Rebuilder, type RebuildProgress, type RebuildSummary } from '../rebuild/rebuilder.js';
import { verifyProjection, type Drift, type VerifyResult } from '../rebuild/verify.js';
import { announce, connect, prepareTables, sourceTable, type ConnectionOptions } from './connection.js';
import { rebuildSource, type SourceOptions } from './rebuild-source.js';
import { ExportSource } from '../rebuild/export-source.js';
import { checkExportTime } from '../rebuild/lifecycle.js';
import { isScanner } from '../rebuild/scan-source.js';
import type { Output } from './output.js';
import { progressPrinter } from './progress.js';
import { projectionOf } from './projections-module.js';

export interface RebuildCommandOptions extends ConnectionOptions, SourceOptions {
  readonly projections: string;
  /** 4 when not given (in AWS, the runner's own default). */
  readonly segments?: number;
  readonly rate?: number;
  readonly pageSize: number;
  readonly restart: boolean;
  readonly createTables: boolean;
  /** Rebuild from an export taken before the generation's live consumer started. */
  readonly allowEarlyExport?: boolean;
}

export async function rebuild(
  name: string,
  options: RebuildCommandOptions,
  logger: Logger,
  output: Output,
): Promise<RebuildSummary & { readonly source: string; readonly table: string; readonly usage?: UsageSnapshot }> {
  const projection = await projectionOf(options.projections, name);
  assertRebuildable(projection);
  const connection = connect(options);
  const { client, config, tables } = connection;
  await announce(connection, output);
  const source = await rebuildSource(connection, options);
  await prepareTables(connection, ['readModels', 'checkpoints', 'parked'], options.createTables);
  const registry = new DynamoDbGenerationRegistry(client, tables.readModels);
  if (source instanceof ExportSource) {
    const warning = await checkExportTime({ projection, registry, exportTime: source.manifest.summary.exportTime, allowEarly: options.allowEarlyExport === true });
    if (warning !== undefined) output.notice(`streamfold: ${warning}`);
  }
  // The rebuild folds through the same runtime, under the same consumer name, as the live consumer: that is
  // what lets the two write one generation at once.
  const { runtime, dynamoDbStore } = compose([projection], { dynamoDbClient: client, config, logger });
  const rebuilder = new Rebuilder(
    projection,
    runtime,
    source,
    new DynamoDbRebuildStateStore(client, tables.checkpoints, config.STREAMFOLD_CONSUMER),
    registry,
    logger,
  );
  const summary = await rebuilder.run({
    segments: options.segments ?? 4,
    rate: options.rate,
    pageSize: options.pageSize,
    restart: options.restart,
    onProgress: progressPrinter<RebuildProgress>(output.progress, { terminal: progressBar, plain: progressLine }),
  });
  return { ...summary, table: source.table, source: isScanner(source) ? `table ${source.table}` : source.description, usage: dynamoDbStore.usage.snapshot() };
}

export function formatRebuild(summary: RebuildSummary & { readonly usage?: UsageSnapshot }, source: string): string {
  const usage = summary.usage === undefined ? '' : `; ${summary.usage.billedWriteUnits} billed write units in ${summary.usage.totalRequests} requests to the read model`;
  return [
    `rebuilt ${summary.generation} from ${source}: ${summary.readThisRun} items read by this run ` +
      `(${summary.readInAll} in all${summary.resumed ? ', resumed' : ''}), ${summary.applied} applied, ` +
      `${summary.skipped} already newer, ${summary.parked} parked` +
      `${summary.held > 0 ? `, ${summary.held} held behind a missing version of their stream (streamfold gaps lists them)` : ''}; readers now use ${summary.generation}`,
    `items read per ${summary.segments.some((segment) => segment.name !== undefined) ? 'file' : 'segment'}: ${summary.segments.map((segment, index) => `${segment.name ?? index}:${segment.read}`).join(' ')}; ` +
      `${Math.round(summary.itemsPerSecond)} items/s over ${(summary.elapsedMs / 1000).toFixed(1)} s${usage}`,
  ].join('\n');
}

export function rebuildJson(summary: RebuildSummary & { readonly source: string; readonly table: string; readonly usage?: UsageSnapshot }): Record<string, unknown> {
  return {
    projection: summary.projection,
    generation: summary.generation,
    table: summary.table,
    source: summary.source,
    readThisRun: summary.readThisRun,
    readInAll: summary.readInAll,
    resumed: summary.resumed,
    applied: summary.applied,
    skipped: summary.skipped,
    parked: summary.parked,
    held: summary.held,
    itemsPerSecond: summary.itemsPerSecond,
    elapsedMs: summary.elapsedMs,
    segments: summary.segments.map((segment) => segment.read),
    ...(summary.segments.some((segment) => segment.name !== undefined)
      ? { files: summary.segments.map((segment) => ({ file: segment.name, items: segment.items, read: segment.read })) }
      : {}),
    current: summary.generation,
    ...(summary.usage === undefined ? {} : { usage: summary.usage }),
  };
}

export interface VerifyCommandOptions extends ConnectionOptions {
  readonly projections: string;
  readonly table: string;
  readonly segments: number;
}

export async function verify(name: string, options: VerifyCommandOptions, output: Output): Promise<VerifyResult> {
  const projection = await projectionOf(options.projections, name);
  const connection = connect(options);
  const { client, config, tables } = connection;
  await announce(connection, output);
  await sourceTable(connection, options.table);
  await prepareTables(connection, ['readModels'], false);
  return verifyProjection({
    projection,
    scanner: new DynamoDbSourceScanner(client, options.table),
    reader: new DynamoDbReadModelStore({ client, consumer: config.STREAMFOLD_CONSUMER, tables }),
    generation: await currentGeneration(new DynamoDbGenerationRegistry(client, tables.readModels), projection),
    segments: options.segments,
  });
}

/**
 * A difference as `dump` prints rows: the key as the key itself (a group's name, a view's key attributes),
 * not as a string of JSON. The drift's key is already exact JSON, so it goes in as it is.
 */
export function driftLine(drift: Drift): string {
  return `{"key":${drift.key},"field":${JSON.stringify(drift.field)},"stored":${JSON.stringify(drift.stored)},"expected":${JSON.stringify(drift.expected)}}`;
}

export function formatVerify(result: VerifyResult): string {
  return (
    `verify ${result.generation}: ${result.itemsScanned} items scanned, ${result.expectedRows} rows expected, ` +
    `${result.storedRows} stored, ${result.drift.length === 0 ? 'no drift' : `${result.drift.length} differences`}` +
    (result.notFolded.length === 0 ? '' : `; ${result.notFolded.length} items not folded in the recomputation either (live, they are parked)`)
  );
}

/** The verify summary as one JSON object, its differences' keys as `dump` prints them. */
export function verifyJson(result: VerifyResult): string {
  const head = toExactJson({
    generation: result.generation,
    itemsScanned: result.itemsScanned,
    expectedRows: result.expectedRows,
    storedRows: result.storedRows,
    differences: result.drift.length,
    notFolded: result.notFolded,
  });
  return `${head.slice(0, -1)},"drift":[${result.drift.map(driftLine).join(',')}]}`;
}
