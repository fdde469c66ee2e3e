import * as z from 'zod';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../adapters/dynamodb/client.js';
import { DynamoDbGenerationRegistry, DynamoDbRebuildStateStore } from '../../adapters/dynamodb/rebuild-state.js';
import { DynamoDbSourceScanner } from '../../adapters/dynamodb/scanner.js';
import { DirectoryExportObjects } from '../../adapters/export/directory.js';
import type { AnyProjection } from '../catalog/kinds.js';
import { compose } from '../container.js';
import type { ConsumerOverrides } from '../consumer-overrides.js';
import { loadConfig } from '../core/config.js';
import { createLogger, withLogFields } from '../core/logging.js';
import type { ProjectionRuntime } from '../projection/runtime.js';
import { ExportSource } from '../rebuild/export-source.js';
import type { ExportObjects, RebuildSource } from '../rebuild/ports.js';
import { scanSource } from '../rebuild/scan-source.js';
import { runRebuildStep, type PrepareResult, type PromoteResult, type RebuildJob, type WorkResult } from '../rebuild/worker.js';
import type { LambdaContext } from './handler.js';

/** The worker's own settings, set by the CDK construct's rebuild runner. */
const WorkerEnvironmentSchema = z.object({
  /** Items a second one invocation reads; the runner's total is this times the map's MaxConcurrency. */
  STREAMFOLD_REBUILD_RATE: z.coerce.number().int().min(1).optional(),
  /** How long an invocation starts new pages; then it saves its position and the map item calls it again. */
  STREAMFOLD_REBUILD_WORK_SECONDS: z.coerce.number().int().min(1).max(840).default(180),
  /** Kept from Lambda's deadline whatever the work time: the last page, its retries and the save fit in it. */
  STREAMFOLD_REBUILD_MARGIN_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  /** Scan segments when the job names none (the construct sets 4 × the map's MaxConcurrency). */
  STREAMFOLD_REBUILD_SEGMENTS: z.coerce.number().int().min(1).max(1_000_000).default(32),
});

export interface RebuildWorkerOptions extends ConsumerOverrides {
  readonly projections: readonly AnyProjection[];
  /** Reads an export at an `s3://` location (by default through the S3 client, loaded when first needed). */
  readonly exportObjects?: (location: string) => ExportObjects | Promise<ExportObjects>;
}

export type RebuildWorkerResult = PrepareResult | WorkResult | PromoteResult;

export interface RebuildWorker {
  (event: unknown, context?: LambdaContext): Promise<RebuildWorkerResult>;
}

/**
 * The Lambda function of the rebuild runner's state machine: one invocation per step (prepare, work on one
 * share for a few minutes, promote). Call it at module scope: clients and runtimes are made once per container.
 */
export function createRebuildWorker(options: RebuildWorkerOptions): RebuildWorker {
  const environment = options.environment ?? process.env;
  const config = { ...loadConfig(environment), ...options.config };
  const settings = WorkerEnvironmentSchema.parse(environment);
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const client: DynamoDBClient =
    options.dynamoDbClient ?? createDynamoDbClient({ endpoint: config.STREAMFOLD_DYNAMODB_ENDPOINT, region: config.AWS_REGION });
  const runtimes = new Map<AnyProjection, ProjectionRuntime>();
  const exports = new Map<string, Promise<ExportSource>>();
  const sourceOf = async (job: RebuildJob): Promise<RebuildSource> => {
    if (job.export === undefined) {
      if (job.table === undefined) throw new Error('a rebuild job names a table to scan or an export to read');
      return scanSource(new DynamoDbSourceScanner(client, job.table), job.segments ?? settings.STREAMFOLD_REBUILD_SEGMENTS);
    }
    const location = job.export;
    let source = exports.get(location);
    if (source === undefined) {
      source = (async () =>
        ExportSource.open(await objectsAt(location, options, config.AWS_REGION), (table) =>
          job.key === undefined ? new DynamoDbSourceScanner(client, table).keyAttributes() : Promise.resolve(job.key.split(',').map((name) => name.trim())),
        ))();
      // A manifest that could not be read is read again next time.
      source.catch(() => exports.delete(location));
      exports.set(location, source);
    }
    return source;
  };
  const parts = {
    projections: options.projections,
    runtimeOf: (projection: AnyProjection): ProjectionRuntime => {
      let runtime = runtimes.get(projection);
      if (runtime === undefined) {
        // The lane's runtime alone, as the local rebuild uses it: replayed inserts go to no fan-out.
        runtime = compose([projection], { ...options, config, dynamoDbClient: client, logger }).runtime;
        runtimes.set(projection, runtime);
      }
      return runtime;
    },
    states: new DynamoDbRebuildStateStore(client, config.STREAMFOLD_CHECKPOINT_TABLE, config.STREAMFOLD_CONSUMER),
    registry: new DynamoDbGenerationRegistry(client, config.STREAMFOLD_READ_MODEL_TABLE),
    sourceOf,
    logger,
    rate: settings.STREAMFOLD_REBUILD_RATE,
    workMs: settings.STREAMFOLD_REBUILD_WORK_SECONDS * 1000,
    marginMs: settings.STREAMFOLD_REBUILD_MARGIN_SECONDS * 1000,
  };
  return (event, context) =>
    withLogFields(context === undefined ? {} : { requestId: context.awsRequestId }, () =>
      runRebuildStep(parts, event, context === undefined ? undefined : () => context.getRemainingTimeInMillis()),
    );
}

async function objectsAt(location: string, options: RebuildWorkerOptions, region: string | undefined): Promise<ExportObjects> {
  if (!location.startsWith('s3://')) return new DirectoryExportObjects(location);
  if (options.exportObjects !== undefined) return options.exportObjects(location);
  const s3 = await import('../../adapters/s3/export-objects.js');
  return new s3.S3ExportObjects(s3.createS3Client({ region }), location);
}
