import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { errorMessage } from '../core/errors.js';
import { missingSetup } from './connection.js';
import { packageVersion } from '../core/version.js';
import { createLogger, type Logger, type LogLevel } from '../core/logging.js';
import { capture, formatCapture } from './capture.js';
import { deliveryJson, deliveryLines, needsAttention } from './delivery-summary.js';
import { dump } from './dump.js';
import { attentionIf, EXIT, isUsageError, type ExitCode } from './exit-codes.js';
import { listGaps } from './gaps.js';
import { isOutputClosed, processOutput, type Output } from './output.js';
import { formatPurge, formatRedrive, listParked, purgeJson, purgeParkedCommand, redriveJson, redriveParked } from './parked.js';
import { driftLine, formatRebuild, formatVerify, rebuild, rebuildJson, verify, verifyJson } from './rebuild.js';
import { rebuildInAws } from './rebuild-aws.js';
import { formatReplaySummary, replay, replayNeedsAttention, replaySummaryJson } from './replay.js';
import { runStream } from './run-stream.js';

const wholeNumber =
  (minimum: number) =>
  (value: string): number => {
    const parsed = Number(value);
    if (!Number.isSafeInteger(parsed) || parsed < minimum) {
      throw new InvalidArgumentError(`expected a whole number of at least ${minimum}`);
    }
    return parsed;
  };

/** pino's own levels, and `silent`. */
const LOG_LEVELS = [...Object.keys(pino.levels.values), 'silent'];

function withEndpoint(command: Command): Command {
  return command
    .option('--endpoint <url>', 'DynamoDB endpoint, such as localhost:8000 for DynamoDB Local (default: STREAMFOLD_DYNAMODB_ENDPOINT)')
    .option('--region <region>', 'AWS region (default: AWS_REGION)');
}

function withConnection(command: Command): Command {
  return withEndpoint(command)
    .option('--consumer <name>', 'checkpoint namespace (default: STREAMFOLD_CONSUMER or "default")')
    .option('--read-model-table <name>', 'read-model table (default: streamfold-read-models)')
    .option('--checkpoint-table <name>', 'checkpoint table (default: streamfold-checkpoints)')
    .option('--parked-table <name>', 'parked-record table (default: streamfold-parked)');
}

const projectionsOption = (command: Command): Command =>
  command.requiredOption('--projections <module>', 'JS or TS module exporting projections');
const createTablesOption = (command: Command): Command =>
  command.option('--create-tables', 'create the read-model, checkpoint and parked-record tables first', false);
const jsonOption = (command: Command): Command => command.option('--json', 'print the summary as one JSON object', false);
const fromOption = () =>
  new Option('--from <position>', 'where to start in the stream').choices(['trim-horizon', 'latest']).default('trim-horizon');

/** The commands, each setting the exit code it finished with. */
export function program(output: Output = processOutput()): { readonly command: Command; readonly exitCode: () => ExitCode } {
  let exitCode: ExitCode = EXIT.DONE;
  const finish = (code: ExitCode): void => {
    exitCode = code;
  };
  const root = new Command('streamfold')
    .description('Turn DynamoDB Streams into read models')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addOption(new Option('--log-level <level>', 'pino log level; logs go to stderr').choices(LOG_LEVELS).default('error'))
    .configureOutput({
      writeOut: (text) => output.line(text.replace(/\n$/, '')),
      writeErr: (text) => output.notice(text.replace(/\n$/, '')),
    })
    .showHelpAfterError()
    .exitOverride();
  const logger = (): Logger => createLogger(root.opts<{ logLevel: LogLevel }>().logLevel, pino.destination(2));
  const summary = (json: boolean, asJson: () => unknown, asText: () => string): void =>
    json ? output.json(asJson()) : output.line(asText());

  withEndpoint(
    root
      .command('capture')
      .description("write a table's stream records as JSON Lines, each as Lambda delivers it (replay takes them as they are)")
      .requiredOption('--table <name>', 'the table whose stream to read')
      .addOption(fromOption())
      .option('--follow', 'keep writing new records until Ctrl-C (implied by --from latest)', false)
      .option('--out <file>', 'write to this file instead of stdout'),
  ).action(async (options) => {
    output.notice(formatCapture(await capture(options, output)));
  });

  createTablesOption(
    withConnection(
      jsonOption(
        projectionsOption(
          root
            .command('run')
            .description("follow a table's stream into the handler Lambda runs, until Ctrl-C; then say what was applied")
            .requiredOption('--table <name>', 'the table whose stream to follow')
            .addOption(fromOption())
            .option('--batch-size <n>', 'records per invocation', wholeNumber(1), 100)
            .option('--max-retries <n>', 'redeliveries of a failing batch before its records are given up', wholeNumber(0), 3),
        ),
      ),
    ),
  ).action(async (options) => {
    const result = await runStream(options, logger(), output);
    summary(
      options.json,
      () => ({ table: result.table, seconds: result.seconds, ...deliveryJson(result.totals, result.usage) }),
      () => [`ran on ${result.table}'s stream for ${result.seconds.toFixed(1)} s: ${result.totals.records} records in ${result.totals.batches} batches`, ...deliveryLines(result.totals, result.usage)].join('\n'),
    );
    finish(attentionIf(needsAttention(result.totals)));
  });

  createTablesOption(
    withConnection(
      jsonOption(
        projectionsOption(
          root
            .command('replay')
            .description('run stream records through the Lambda handler, as Lambda would')
            .requiredOption('--input <file>', 'JSON Lines (from capture), a Lambda event, get-records output, or - for stdin')
            .option('--source-table <name>', 'refuse records of any other table (default: STREAMFOLD_SOURCE_TABLE)')
            .option('--batch-size <n>', 'records per invocation', wholeNumber(1), 100)
            .option('--max-retries <n>', 'redeliveries of a failing batch before its records are given up', wholeNumber(0), 3),
        ),
      ),
    ),
  ).action(async (options) => {
    const result = await replay(options, logger(), output);
    summary(options.json, () => replaySummaryJson(result), () => formatReplaySummary(result));
    finish(attentionIf(replayNeedsAttention(result)));
  });

  withConnection(
    projectionsOption(
      root.command('dump').description("print a projection's current read model, one JSON object a line").argument('<projection>', 'projection name'),
    ),
  ).action(async (name: string, options) => {
    await dump(name, options, output);
  });

  createTablesOption(
    withConnection(
      jsonOption(
        projectionsOption(
          root
            .command('rebuild')
            .description("build a projection's generation from a scan of its source table or from a DynamoDB export, beside the live consumer")
            .argument('<projection>', 'projection name')
            .option('--table <source>', 'the source table: scanned, or (with --from-export) the table the export must be of')
            .option('--from-export <location>', 'read a DynamoDB export instead of scanning: s3://bucket/prefix/AWSDynamoDB/<ExportId>, or a directory holding a copy')
            .option('--key <attributes>', "the exported table's key (partition[,sort]), when the table cannot be described")
            .option('--allow-early-export', "rebuild from an export taken before the generation's live consumer started (only if nothing changed in between)", false)
            .option('--segments <n>', 'parallel scan segments; with --from-export, data files read at once (default: 4; with --in-aws, the runner\'s: 4 × its maxConcurrency)', wholeNumber(1))
            .option('--rate <items>', 'items a second, all segments together (default: unlimited)', wholeNumber(1))
            .option('--page-size <n>', 'items a page', wholeNumber(1), 100)
            .option('--restart', 'start over instead of resuming an unfinished rebuild', false)
            .option('--in-aws', "run it in AWS with the construct's rebuild runner (needs --state-machine), and follow its progress", false)
            .option('--state-machine <arn>', "the rebuild runner's state machine (the construct's rebuildRunner.stateMachine)"),
        ),
      ),
    ),
  ).action(async (name: string, options) => {
    if (options.inAws === true || options.stateMachine !== undefined) {
      const result = await rebuildInAws(name, options, output);
      summary(options.json, () => rebuildJson(result), () => formatRebuild(result, result.source));
      finish(attentionIf(result.parked > 0 || result.held > 0));
      return;
    }
    const result = await rebuild(name, options, logger(), output);
    summary(options.json, () => rebuildJson(result), () => formatRebuild(result, result.source));
    finish(attentionIf(result.parked > 0 || result.held > 0));
  });

  withConnection(
    jsonOption(
      projectionsOption(
        root
          .command('verify')
          .description('recompute a projection from a scan of its source table and print every difference')
          .argument('<projection>', 'projection name')
          .requiredOption('--table <source>', 'the source table')
          .option('--segments <n>', 'parallel scan segments', wholeNumber(1), 4),
      ),
    ),
  ).action(async (name: string, options) => {
    const result = await verify(name, options, output);
    if (options.json) output.line(verifyJson(result));
    else {
      for (const drift of result.drift) output.line(driftLine(drift));
      for (const item of result.notFolded) output.notice(`streamfold: not folded: ${item.key}: ${item.error}`);
      output.line(formatVerify(result));
    }
    finish(attentionIf(result.drift.length > 0));
  });

  withConnection(
    jsonOption(projectionsOption(root.command('gaps').description('list event streams held back by a missing version, one JSON object a line'))),
  ).action(async (options) => {
    const gaps = await listGaps(options, output);
    if (options.json) output.json({ gaps: gaps.length, open: gaps });
    else for (const gap of gaps) output.json(gap);
    if (!options.json && gaps.length === 0) output.notice('streamfold: no open gaps');
    finish(attentionIf(gaps.length > 0));
  });

  const parked = root.command('parked').description('records a projection could not apply, kept with their error');
  const filters = (command: Command): Command =>
    command
      .option('--projection <name>', 'only this projection')
      .option('--key <key>', 'only this item: its key as `parked list` prints it, or its attributes as JSON ({"sku":"A-1"})');
  withConnection(
    filters(
      projectionsOption(
        parked
          .command('list')
          .description('print the parked records, one JSON object a line (covered: the checkpoint has moved past it)')
          .addOption(new Option('--reason <reason>', 'only records that failed, or that wait behind one').choices(['failed', 'waiting']))
          .option('--records', 'include each full record', false),
      ),
    ),
  ).action(async (options) => {
    finish(attentionIf((await listParked(options, logger(), output)) > 0));
  });
  createTablesOption(
    withConnection(
      jsonOption(
        projectionsOption(
          parked
            .command('redrive')
            .description('apply parked records again (after a fix), in order; remove those that apply')
            .option('--projection <name>', 'only this projection')
            .option('--input <file>', 'fixed records (as replay reads them) to apply in place of the parked copies of the same eventID and sequence'),
        ),
      ),
    ),
  ).action(async (options) => {
    const result = await redriveParked(options, logger(), output);
    summary(options.json, () => redriveJson(result), () => formatRedrive(result));
    finish(attentionIf(result.stillParked.length > 0));
  });
  withConnection(
    jsonOption(
      filters(
        projectionsOption(
          parked
            .command('purge')
            .description('remove parked records for good (those of a projection, an item, or all); needs --yes')
            .option('--all', 'every parked record of this consumer', false)
            .option('--yes', 'really remove them', false),
        ),
      ),
    ),
  ).action(async (options) => {
    const result = await purgeParkedCommand(options, logger(), output);
    summary(options.json, () => purgeJson(result), () => formatPurge(result));
  });
  return { command: root, exitCode: () => exitCode };
}

/** Runs the CLI; answers the exit code (see the README's table). */
export async function run(argv: readonly string[], output: Output = processOutput()): Promise<ExitCode> {
  // The SDK's notice that its 2027 releases need Node 22 is in the README; here it would bury the answer.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const cli = program(output);
  try {
    await cli.command.parseAsync([...argv]);
    return cli.exitCode();
  } catch (error) {
    if (isOutputClosed(error)) return EXIT.DONE;
    const code = (error as { code?: unknown }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return EXIT.DONE;
    if (typeof code === 'string' && code.startsWith('commander.')) return EXIT.USAGE;
    output.notice(`streamfold: ${missingSetup(error) ?? errorMessage(error)}`);
    return isUsageError(error) ? EXIT.USAGE : EXIT.ERROR;
  }
}
