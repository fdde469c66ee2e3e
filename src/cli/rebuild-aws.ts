import { DynamoDbRebuildStateStore } from '../../adapters/dynamodb/rebuild-state.js';
import { StreamfoldError } from '../core/errors.js';
import { sleep as defaultSleep, type Sleep } from '../core/retry.js';
import { generationOf } from '../projection/define.js';
import { pathWithinExport } from '../rebuild/export-manifest.js';
import { rebuildStateId } from '../rebuild/lifecycle.js';
import type { RebuildState } from '../rebuild/ports.js';
import { outcomeOf, progressBar, progressLine, progressOf, readOf } from '../rebuild/progress.js';
import { assertRebuildable, type RebuildProgress, type RebuildSummary } from '../rebuild/rebuilder.js';
import type { RebuildJob } from '../rebuild/worker.js';
import { announce, connect, prepareTables } from './connection.js';
import { UsageError } from './exit-codes.js';
import type { Output } from './output.js';
import { progressPrinter } from './progress.js';
import { projectionOf } from './projections-module.js';
import type { RebuildCommandOptions } from './rebuild.js';

export interface InAwsOptions extends RebuildCommandOptions {
  readonly inAws?: boolean;
  readonly stateMachine?: string;
}

/** How often the saved state and the execution are read while the runner works. */
export const POLL_MS = 2_000;

/**
 * `rebuild --in-aws`: starts the rebuild runner's state machine with the job, then shows the same progress
 * as a local rebuild by reading the state its workers save after every page, until the execution ends.
 */
export async function rebuildInAws(
  name: string,
  options: InAwsOptions,
  output: Output,
  clock: { now: () => number; sleep: Sleep } = { now: Date.now, sleep: defaultSleep },
): Promise<RebuildSummary & { readonly source: string; readonly table: string }> {
  if (options.inAws !== true || options.stateMachine === undefined) {
    throw new UsageError('--in-aws and --state-machine <arn> go together: the state machine is the one the construct made (rebuildRunner.stateMachine)', '--state-machine');
  }
  if (options.rate !== undefined) {
    throw new UsageError("--rate is for a local rebuild; in AWS each invocation keeps to the construct's rebuildRunner.itemsPerSecond", '--rate');
  }
  const projection = await projectionOf(options.projections, name);
  assertRebuildable(projection);
  const { job, sourceId, table, source } = jobOf(name, options);
  const connection = connect(options);
  await announce(connection, output);
  await prepareTables(connection, ['checkpoints'], false);
  const states = new DynamoDbRebuildStateStore(connection.client, connection.tables.checkpoints, connection.config.STREAMFOLD_CONSUMER);
  const stateId = rebuildStateId(projection, sourceId);
  const executions = await stepFunctions(connection.config.AWS_REGION);

  // What an unfinished rebuild had read before this execution goes on with it.
  const before = options.restart === true ? undefined : await states.load(stateId);
  const readBefore = before === undefined || before.finishedAt !== undefined ? 0 : readOf(before.segments);
  const startedAt = clock.now();
  const executionArn = await executions.start(options.stateMachine, job);
  output.notice(`streamfold: started ${executionArn}`);
  const print = progressPrinter<RebuildProgress>(output.progress, { terminal: progressBar, plain: progressLine });
  const progress = (state: RebuildState): RebuildProgress => {
    const known = state.segments.every((segment) => segment.items !== undefined);
    return progressOf({
      projection: projection.name,
      generation: generationOf(projection),
      segments: state.segments,
      readThisRun: readOf(state.segments) - readBefore,
      elapsedMs: clock.now() - startedAt,
      approximateTotal: known ? state.segments.reduce((total, segment) => total + (segment.items ?? 0), 0) : undefined,
      resumed: readBefore > 0,
    });
  };
  for (;;) {
    await clock.sleep(POLL_MS);
    const [status, state] = await Promise.all([executions.status(executionArn), states.load(stateId)]);
    // A finished state before the execution's prepare step made a new one is the last rebuild's: not shown.
    const current = state !== undefined && (state.finishedAt === undefined || Date.parse(state.finishedAt) >= startedAt) ? state : undefined;
    if (status.status === 'RUNNING') {
      if (current !== undefined && !progress(current).done) print(progress(current));
      continue;
    }
    if (status.status !== 'SUCCEEDED' || current === undefined) {
      throw new StreamfoldError(
        'CONFIGURATION',
        `the rebuild runner's execution ${executionArn} ended ${status.status}${status.error === undefined ? '' : `: ${status.error}`}${status.cause === undefined ? '' : ` (${status.cause})`}; ` +
          'run the same command again to go on from the saved positions',
      );
    }
    const last = progress(current);
    print(last);
    return { ...last, ...outcomeOf(current.segments), source, table };
  }
}


/** The state machine's input, and the names the saved state is found by. */
function jobOf(name: string, options: InAwsOptions): { job: RebuildJob; sourceId: string; table: string; source: string } {
  const base = { projection: name, restart: options.restart, pageSize: options.pageSize, ...(options.allowEarlyExport === true ? { allowEarlyExport: true } : {}) };
  if (options.fromExport !== undefined) {
    if (!options.fromExport.startsWith('s3://')) throw new UsageError('--in-aws reads an export where AWS wrote it: give its s3:// location', '--from-export');
    const exportId = /AWSDynamoDB\/([^/]+)\/?$/.exec(options.fromExport)?.[1];
    if (exportId === undefined) throw new UsageError(`--from-export ${options.fromExport} does not end in AWSDynamoDB/<ExportId>`, '--from-export');
    pathWithinExport(`${options.fromExport.replace(/\/$/, '')}/manifest-summary.json`, '--from-export');
    return {
      job: { ...base, export: options.fromExport.replace(/\/$/, ''), ...(options.key === undefined ? {} : { key: options.key }) },
      sourceId: `export:${exportId}`,
      table: options.table ?? '(named by the export)',
      source: `export ${options.fromExport}`,
    };
  }
  if (options.table === undefined) throw new UsageError('give --table <source> (to scan it) or --from-export <s3 location>', '--table');
  return { job: { ...base, table: options.table, ...(options.segments === undefined ? {} : { segments: options.segments }) }, sourceId: options.table, table: options.table, source: `table ${options.table}` };
}

/** The Step Functions client is an optional peer dependency, loaded for `--in-aws` only. */
async function stepFunctions(region: string | undefined) {
  try {
    const { StepFunctionsExecutions, createStepFunctionsClient } = await import('../../adapters/stepfunctions/executions.js');
    return new StepFunctionsExecutions(createStepFunctionsClient({ region }));
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new StreamfoldError('CONFIGURATION', 'rebuild --in-aws needs the Step Functions client: install it (npm install @aws-sdk/client-sfn)', { cause: error });
  }
}
