import { Command, InvalidArgumentError } from 'commander';
import { pino } from 'pino';
import { errorMessage } from '../errors.js';
import { toExactJson } from '../json.js';
import { packageVersion } from '../version.js';
import { createLogger, type LogLevel } from '../logging.js';
import { dump } from './dump.js';
import { formatRedrive, listParked, redriveParked } from './parked.js';
import { listGaps } from './gaps.js';
import { rebuild, verify } from './rebuild.js';
import { formatReplaySummary, replay } from './replay.js';

const wholeNumber =
  (minimum: number) =>
  (value: string): number => {
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed) || parsed < minimum) {
      throw new InvalidArgumentError(`expected a whole number of at least ${minimum}`);
    }
    return parsed;
  };

function withConnection(command: Command): Command {
  return command
    .option('--endpoint <url>', 'DynamoDB endpoint, such as http://localhost:8000 for DynamoDB Local')
    .option('--region <region>', 'AWS region (default: AWS_REGION)')
    .option('--consumer <name>', 'checkpoint namespace (default: STREAMFOLD_CONSUMER or "default")')
    .option('--read-model-table <name>', 'read-model table (default: streamfold-read-models)')
    .option('--checkpoint-table <name>', 'checkpoint table (default: streamfold-checkpoints)')
    .option('--parked-table <name>', 'parked-record table (default: streamfold-parked)');
}

export function program(out: (text: string) => void = (text) => process.stdout.write(`${text}\n`)): Command {
  const root = new Command('streamfold')
    .description('Turn DynamoDB Streams into read models')
    .version(packageVersion())
    .option('--log-level <level>', 'pino log level, logs go to stderr', 'warn')
    .showHelpAfterError()
    .exitOverride();
  const logger = (): ReturnType<typeof createLogger> =>
    createLogger(root.opts<{ logLevel: LogLevel }>().logLevel, pino.destination(2));

  withConnection(
    root
      .command('replay')
      .description('run a file of DynamoDB stream records through the Lambda handler, as Lambda would')
      .requiredOption('--projections <module>', 'JS or TS module exporting projections')
      .requiredOption('--input <file>', 'a Lambda event JSON file, or JSON Lines of records')
      .option('--batch-size <n>', 'records per invocation', wholeNumber(1), 100)
      .option('--max-retries <n>', 'redeliveries of a failing batch before its records are given up', wholeNumber(0), 3)
      .option('--create-tables', 'create the read-model and checkpoint tables first', false),
  ).action(async (options) => {
    const summary = await replay(options, logger());
    out(formatReplaySummary(summary));
    if (summary.totals.failed > 0) process.exitCode = 1;
  });

  withConnection(
    root
      .command('dump')
      .description("print a projection's current read model, one JSON object a line")
      .argument('<projection>', 'projection name')
      .requiredOption('--projections <module>', 'JS or TS module exporting projections'),
  ).action(async (name: string, options) => {
    await dump(name, options, out);
  });
  withConnection(
    root
      .command('rebuild')
      .description("build a projection's generation from a scan of its source table, beside the live consumer")
      .argument('<projection>', 'projection name')
      .requiredOption('--projections <module>', 'JS or TS module exporting projections')
      .requiredOption('--table <source>', 'the source table')
      .option('--segments <n>', 'parallel scan segments', wholeNumber(1), 4)
      .option('--rate <items>', 'items a second, all segments together (default: unlimited)', wholeNumber(1))
      .option('--page-size <n>', 'items a page', wholeNumber(1), 100)
      .option('--restart', 'start over instead of resuming an unfinished rebuild', false),
  ).action(async (name: string, options) => {
    const summary = await rebuild(name, options, logger());
    out(
      `rebuilt ${summary.generation} from ${options.table}: ${summary.readThisRun} items read by this run ` +
        `(${summary.readInAll} in all${summary.resumed ? ', resumed' : ''}), ${summary.applied} applied, ` +
        `${summary.skipped} already newer, ${summary.parked} parked; readers now use ${summary.generation}`,
    );
    out(`items read per segment: ${summary.segments.map((segment, index) => `${index}:${segment.read}`).join(' ')}`);
  });
  withConnection(
    root
      .command('verify')
      .description('recompute a projection from a scan of its source table and print every difference')
      .argument('<projection>', 'projection name')
      .requiredOption('--projections <module>', 'JS or TS module exporting projections')
      .requiredOption('--table <source>', 'the source table')
      .option('--segments <n>', 'parallel scan segments', wholeNumber(1), 4),
  ).action(async (name: string, options) => {
    const result = await verify(name, options);
    for (const drift of result.drift) out(toExactJson(drift));
    out(
      `verify ${result.generation}: ${result.itemsScanned} items scanned, ${result.expectedRows} rows expected, ` +
        `${result.storedRows} stored, ${result.drift.length === 0 ? 'no drift' : `${result.drift.length} differences`}`,
    );
    if (result.drift.length > 0) process.exitCode = 1;
  });

  withConnection(
    root
      .command('gaps')
      .description('list event streams held back by a missing version, one JSON object a line')
      .requiredOption('--projections <module>', 'JS or TS module exporting projections'),
  ).action(async (options) => {
    const gaps = await listGaps(options, out);
    if (gaps > 0) process.exitCode = 1;
  });

  const parked = root.command('parked').description('records a projection could not apply, kept with their error');
  withConnection(
    parked
      .command('list')
      .description('print the parked records, one JSON object a line')
      .requiredOption('--projections <module>', 'JS or TS module exporting projections')
      .option('--projection <name>', 'only this projection')
      .option('--records', 'include each full record', false),
  ).action(async (options) => {
    await listParked(options, logger(), out);
  });
  withConnection(
    parked
      .command('redrive')
      .description('apply parked records again (after a fix), in order; remove those that apply')
      .requiredOption('--projections <module>', 'JS or TS module exporting projections')
      .option('--projection <name>', 'only this projection'),
  ).action(async (options) => {
    const result = await redriveParked(options, logger());
    out(formatRedrive(result));
    if (result.stillParked.length > 0) process.exitCode = 1;
  });
  return root;
}

/** Runs the CLI; answers the exit code, non-zero on any failure. */
export async function run(argv: readonly string[]): Promise<number> {
  process.exitCode = 0;
  try {
    await program().parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version') return 0;
    if (typeof code === 'string' && code.startsWith('commander.')) return 2;
    process.stderr.write(`streamfold: ${errorMessage(error)}\n`);
    return 1;
  }
}
