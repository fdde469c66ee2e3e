import { DynamoDbRebuildStateStore, DynamoDbGenerationRegistry } from '../../adapters/dynamodb/rebuild-state.js';
import { DynamoDbSourceScanner } from '../../adapters/dynamodb/scanner.js';
import { DynamoDbReadModelStore } from '../../adapters/dynamodb/store.js';
import { compose } from '../container.js';
import type { Logger } from '../logging.js';
import { currentGeneration } from '../projection/read-model.js';
import { progressReporter } from '../rebuild/progress.js';
import { assertRebuildable, Rebuilder, type RebuildSummary } from '../rebuild/rebuilder.js';
import { verifyProjection, type VerifyResult } from '../rebuild/verify.js';
import { connect, type ConnectionOptions } from './connection.js';
import { loadProjections, selectProjection } from './load-projections.js';

export interface RebuildCommandOptions extends ConnectionOptions {
  readonly projections: string;
  readonly table: string;
  readonly segments: number;
  readonly rate?: number;
  readonly pageSize: number;
  readonly restart: boolean;
}

export async function rebuild(name: string, options: RebuildCommandOptions, logger: Logger): Promise<RebuildSummary> {
  const projection = selectProjection(await loadProjections(options.projections), name);
  assertRebuildable(projection);
  const { client, config, tables } = connect(options);
  // The rebuild folds through the same runtime, under the same consumer name, as the live consumer: that is
  // what lets the two write one generation at once.
  const { runtime } = compose([projection], { dynamoDbClient: client, config, logger });
  const rebuilder = new Rebuilder(
    projection,
    runtime,
    new DynamoDbSourceScanner(client, options.table),
    new DynamoDbRebuildStateStore(client, tables.checkpoints, config.STREAMFOLD_CONSUMER),
    new DynamoDbGenerationRegistry(client, tables.readModels),
    logger,
  );
  return rebuilder.run({
    segments: options.segments,
    rate: options.rate,
    pageSize: options.pageSize,
    restart: options.restart,
    onProgress: progressReporter(process.stderr),
  });
}

export interface VerifyCommandOptions extends ConnectionOptions {
  readonly projections: string;
  readonly table: string;
  readonly segments: number;
}

export async function verify(name: string, options: VerifyCommandOptions): Promise<VerifyResult> {
  const projection = selectProjection(await loadProjections(options.projections), name);
  const { client, config, tables } = connect(options);
  return verifyProjection({
    projection,
    scanner: new DynamoDbSourceScanner(client, options.table),
    reader: new DynamoDbReadModelStore({ client, consumer: config.STREAMFOLD_CONSUMER, tables }),
    generation: await currentGeneration(new DynamoDbGenerationRegistry(client, tables.readModels), projection),
    segments: options.segments,
  });
}
