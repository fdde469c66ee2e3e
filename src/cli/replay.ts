import { DynamoDbUsage, type UsageSnapshot } from '../../adapters/dynamodb/usage.js';
import { chunk } from '../core/concurrency.js';
import { createHandler } from '../lambda/handler.js';
import type { Logger } from '../core/logging.js';
import { deliverBatch, emptyTotals, type DeliveryTotals } from '../local/lambda-driver.js';
import type { DeadLetterStore, ParkedRecord } from '../projection/ports.js';
import { attributeToSourceTable } from './attribution.js';
import { deliveryJson, deliveryLines, needsAttention } from './delivery-summary.js';
import { openGapsOf, type ListedGap } from './gaps.js';
import { announce, connect, prepareTables, type Connection, type ConnectionOptions, type StreamfoldTable } from './connection.js';
import type { Output } from './output.js';
import { progressPrinter } from './progress.js';
import { projectionsModule } from './projections-module.js';
import { readStreamInput, type InputRecord } from './stream-input.js';

export interface ReplayOptions extends ConnectionOptions {
  readonly projections: string;
  readonly input: string;
  readonly batchSize: number;
  readonly maxRetries: number;
  readonly createTables: boolean;
}

/** A record that did not apply, placed in the input. */
export interface ReplayProblem {
  readonly origin: string;
  readonly outcome: 'parked' | 'failed';
  readonly sequence: string | undefined;
  readonly eventID?: string | undefined;
  readonly projection?: string | undefined;
  readonly error: string;
}

export interface ReplaySummary {
  readonly input: string;
  readonly totals: DeliveryTotals;
  /** Records without an eventSourceARN attributed to the source table by their keys, and those refused. */
  readonly attributed: number;
  readonly unattributed: number;
  readonly problems: readonly ReplayProblem[];
  /**
   * Event streams left waiting for a missing version: their later events are held, not applied. A replay
   * ends with every record it has, so a version missing then is one the input lacks, however young the gap.
   */
  readonly gaps: readonly ListedGap[];
  readonly usage: UsageSnapshot;
}

/**
 * Runs stream records through the handler Lambda runs, in Lambda-sized batches, retrying failed records
 * from the lowest failed sequence as Lambda would.
 */
export async function replay(options: ReplayOptions, logger: Logger, output: Output): Promise<ReplaySummary> {
  const { projections, fanOut } = await projectionsModule(options.projections);
  const read = await readStreamInput(options.input);
  const input = options.input === '-' ? 'stdin' : options.input;
  if (read.length === 0) {
    output.notice(`streamfold: ${input} holds no stream records: nothing to replay`);
    return { input, totals: emptyTotals(), attributed: 0, unattributed: 0, problems: [], gaps: [], usage: new DynamoDbUsage().snapshot() };
  }
  const connection = connect(options);
  await announce(connection, output);
  await prepareTables(connection, tablesOf(connection), options.createTables);
  const { records, attributed, refused } = await attributeToSourceTable(connection, read);
  if (refused > 0) {
    output.notice(
      `streamfold: ${refused} records have no eventSourceARN and keys that are not those of ${connection.config.STREAMFOLD_SOURCE_TABLE}: they are refused (parked)`,
    );
  }
  const started = Date.now();
  const handler = createHandler({ projections, fanOut, dynamoDbClient: connection.client, logger, config: connection.config });
  const totals = emptyTotals();
  const progress = progressPrinter<DeliveryTotals & { done: boolean }>(
    output.progress,
    {
      terminal: (now) =>
        `replay ${input}: ${now.records} of ${records.length} records, ${now.applied} applied, ${now.parked} parked, ${now.failed} failed`,
      plain: () => '',
    },
    { plainLines: false },
  );
  for (const batch of chunk(records, options.batchSize)) {
    await deliverBatch(
      batch.map((entry) => entry.record),
      (part) => handler.invoke({ Records: part }),
      options.maxRetries,
      totals,
    );
    progress({ ...totals, done: totals.records === records.length });
  }
  const places = placesOf(records);
  const problems = [
    ...failedProblems(totals, places),
    ...(totals.parked > 0 && handler.deadLetters !== null ? await parkedProblems(handler.deadLetters, places, started) : []),
  ];
  const gaps = await openGapsOf(connection, projections);
  return { input, totals, attributed, unattributed: refused, problems, gaps, usage: handler.store.usage.snapshot() };
}

/** The streamfold tables a replay writes: the parked-record table only when records are parked in it. */
function tablesOf(connection: Connection): StreamfoldTable[] {
  const { STREAMFOLD_PARKING, STREAMFOLD_PARKED_QUEUE_URL } = connection.config;
  return STREAMFOLD_PARKING === 'on' && STREAMFOLD_PARKED_QUEUE_URL === undefined
    ? ['readModels', 'checkpoints', 'parked']
    : ['readModels', 'checkpoints'];
}

/** `sequence` → where in the input; `eventID` → where, for records without a readable sequence. */
type Places = ReturnType<typeof placesOf>;

function placesOf(records: readonly InputRecord[]) {
  const bySequence = new Map<string, string>();
  const byEventID = new Map<string, string>();
  for (const { record, origin } of records) {
    const shaped = record as { eventID?: unknown; dynamodb?: { SequenceNumber?: unknown } } | null;
    const sequence = shaped?.dynamodb?.SequenceNumber;
    if (typeof sequence === 'string' && !bySequence.has(sequence)) bySequence.set(sequence, origin);
    if (typeof shaped?.eventID === 'string' && !byEventID.has(shaped.eventID)) byEventID.set(shaped.eventID, origin);
  }
  return {
    of: (sequence: string | undefined, eventID?: string) =>
      (eventID === undefined ? undefined : byEventID.get(eventID)) ?? (sequence === undefined ? undefined : bySequence.get(sequence)),
  };
}

/** The input's own places instead of a batch's (`Records[33]` says nothing about the file). */
const withoutBatchIndex = (message: string): string => message.replace(/Records\[\d+\]\./g, '');

function failedProblems(totals: DeliveryTotals, places: Places): ReplayProblem[] {
  return totals.abandoned.map((abandoned) => ({
    origin: places.of(abandoned.sequence) ?? 'the input',
    outcome: 'failed',
    sequence: abandoned.sequence,
    error: withoutBatchIndex(abandoned.error),
  }));
}

/** The records of this input parked during this replay, each with its place in the input and its error. */
async function parkedProblems(deadLetters: DeadLetterStore, places: Places, since: number): Promise<ReplayProblem[]> {
  const problems: ReplayProblem[] = [];
  const cutoff = new Date(since - 1000).toISOString();
  let parked: AsyncIterable<ParkedRecord>;
  try {
    parked = deadLetters.list();
    for await (const record of parked) {
      const origin = places.of(record.sequence, record.eventID);
      if (origin === undefined || record.parkedAt < cutoff) continue;
      problems.push({
        origin,
        outcome: 'parked',
        sequence: record.sequence,
        eventID: record.eventID,
        projection: record.projection,
        error: withoutBatchIndex(record.error.message),
      });
    }
  } catch {
    // A store that cannot be listed (an SQS queue being read by someone else): the counts still say it.
    return problems;
  }
  return problems.sort((a, b) => a.origin.localeCompare(b.origin, undefined, { numeric: true }));
}

const SHOWN = 10;

export function formatReplaySummary(summary: ReplaySummary): string {
  const { totals } = summary;
  const lines = [
    `replayed ${totals.records} records from ${summary.input} in ${totals.batches} batches (${totals.invocations} invocations)`,
    ...deliveryLines(totals, summary.usage),
  ];
  if (summary.attributed > 0) lines.push(`  ${summary.attributed} records without an eventSourceARN attributed to the source table by their keys`);
  for (const problem of summary.problems.slice(0, SHOWN)) {
    lines.push(`  ${problem.origin}: ${problem.outcome === 'failed' ? `gave up at sequence ${problem.sequence}` : 'parked'}: ${problem.error}`);
  }
  if (summary.problems.length > SHOWN) lines.push(`  … and ${summary.problems.length - SHOWN} more (streamfold parked list)`);
  if (summary.gaps.length > 0) {
    // Each projection of a log has its own entry for a stream: count the stream's events once.
    const streams = new Set(summary.gaps.map((gap) => gap.stream));
    const held = new Set(summary.gaps.flatMap((gap) => gap.held.map((version) => `${gap.stream} ${version}`)));
    lines.push(`  held      ${held.size} events of ${streams.size} event streams wait for a missing version, not applied (streamfold gaps)`);
    for (const gap of summary.gaps.slice(0, SHOWN)) lines.push(`  ${gap.generation} ${gap.stream}: version ${gap.missing} is missing; ${gap.held.join(', ')} wait behind it`);
  }
  return lines.join('\n');
}

/** Whether a replay left anything to look at: records parked or failing, or events held behind a gap. */
export const replayNeedsAttention = (summary: ReplaySummary): boolean => needsAttention(summary.totals) || summary.gaps.length > 0;

/** The summary as one JSON object. */
export function replaySummaryJson(summary: ReplaySummary): Record<string, unknown> {
  return {
    input: summary.input,
    ...deliveryJson(summary.totals, summary.usage),
    attributedToSourceTable: summary.attributed,
    refusedWithoutTable: summary.unattributed,
    problems: summary.problems,
    gaps: summary.gaps.length,
    open: summary.gaps,
  };
}
