import { compose } from '../container.js';
import { StreamfoldError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import { generationOf } from '../projection/define.js';
import type { ParkedRecord } from '../projection/ports.js';
import type { RedriveResult } from '../projection/redrive.js';
import { isPlainRecord } from '../records/attribute-value.js';
import { itemKeyFromAttributes, itemKeyFromKeys } from '../records/item-key.js';
import { announce, connect, prepareTables, type ConnectionOptions } from './connection.js';
import { UsageError } from './exit-codes.js';
import type { Output } from './output.js';
import { withCoverage } from './parked-coverage.js';
import { purgeParked, type PurgeResult } from './parked-purge.js';
import { named, projectionsModule } from './projections-module.js';
import { readStreamInput } from './stream-input.js';

export interface ParkedOptions extends ConnectionOptions {
  readonly projections: string;
  readonly projection?: string;
  readonly key?: string;
  readonly reason?: 'failed' | 'waiting';
  readonly records?: boolean;
  readonly createTables?: boolean;
}

async function parkingOf(options: ParkedOptions, logger: Logger, output: Output) {
  const { projections } = await projectionsModule(options.projections);
  const selected = options.projection === undefined ? undefined : named(projections, options.projection);
  const connection = connect(options);
  await announce(connection, output);
  const composition = compose(projections, { dynamoDbClient: connection.client, config: connection.config, logger });
  if (composition.deadLetters === null || composition.redriver === null) {
    throw new StreamfoldError('CONFIGURATION', 'parking is off (STREAMFOLD_PARKING=off): nothing is parked');
  }
  const tables = connection.config.STREAMFOLD_PARKED_QUEUE_URL === undefined ? (['parked', 'checkpoints', 'readModels'] as const) : (['checkpoints', 'readModels'] as const);
  await prepareTables(connection, tables, options.createTables === true);
  return { projections, selected, ...composition, deadLetters: composition.deadLetters, redriver: composition.redriver };
}

/**
 * The keys `list` prints that are not JSON objects: a record parked with no readable key (`(unreadable
 * <digest>)`, see the intake) and an event stream (`stream#"<stream id>"`, see the event log's streams).
 */
const NAMED_KEY = /^(\(unreadable [^)]*\)|stream#".*")$/s;

/**
 * The canonical item key a `--key` names: the key as `parked list` prints it, the key's typed attributes
 * (`{"sku":{"S":"A-1"}}`) or its plain ones (`{"sku":"A-1"}`).
 */
export function canonicalKey(given: string): string {
  if (NAMED_KEY.test(given)) return given;
  let parsed: unknown;
  try {
    parsed = JSON.parse(given);
  } catch {
    parsed = undefined;
  }
  // Every other key `list` prints is a JSON object: anything else would select nothing, and say nothing.
  if (!isPlainRecord(parsed)) throw new UsageError(`--key ${given} is not an item key: give it as \`parked list\` prints it, or as its attributes in JSON ('{"id":"o-1"}')`, '--key');
  const typed = Object.values(parsed).every((value) => isPlainRecord(value) && Object.keys(value).length === 1 && /^[SNB]$/.test(Object.keys(value)[0] ?? ''));
  try {
    return typed ? itemKeyFromKeys(parsed, '--key').id : itemKeyFromAttributes(parsed).id;
  } catch (error) {
    throw new UsageError(`--key ${given} is not an item key: ${(error as Error).message}`, '--key');
  }
}

/** The parked records the filters select (projection, key, reason), oldest first within each item. */
async function selected(parking: Awaited<ReturnType<typeof parkingOf>>, options: ParkedOptions): Promise<ParkedRecord[]> {
  const filter = {
    ...(parking.selected === undefined ? {} : { generation: generationOf(parking.selected) }),
    ...(options.key === undefined ? {} : { key: canonicalKey(options.key) }),
  };
  const records: ParkedRecord[] = [];
  for await (const record of parking.deadLetters.list(filter)) {
    if (options.reason === undefined || record.reason === options.reason) records.push(record);
  }
  return records;
}

/**
 * One JSON object a line per parked record: where it is stuck, why, and whether its item's checkpoint
 * already covers it (a redrive would then only remove it); the record itself on request. Answers how many.
 */
export async function listParked(options: ParkedOptions, logger: Logger, output: Output): Promise<number> {
  const parking = await parkingOf(options, logger, output);
  const records = await selected(parking, options);
  for (const { record, covered } of await withCoverage(records, parking.projections, parking.store)) {
    const { record: payload, id: _id, ...summary } = record;
    output.json({ ...summary, covered: covered ?? null, ...(options.records === true ? { record: payload } : {}) });
  }
  if (records.length === 0) output.notice('streamfold: no parked records');
  return records.length;
}

export interface RedriveOptions extends ParkedOptions {
  /** Records (as `replay` reads them) that take the place of the parked copies of the same eventID and sequence. */
  readonly input?: string;
}

/**
 * Applies parked records again. With `--input`, a parked record whose eventID and sequence are in the input
 * is first replaced by the input's copy: when the records themselves were wrong (a hand-edited file), the
 * fixed file is what gets applied, not the parked copies.
 */
export async function redriveParked(options: RedriveOptions, logger: Logger, output: Output): Promise<RedriveResult> {
  const replacements = options.input === undefined ? undefined : await readStreamInput(options.input);
  const parking = await parkingOf(options, logger, output);
  if (replacements !== undefined) {
    const byPlace = new Map(replacements.map(({ record }) => [placeOfRecord(record), record]));
    const replaced = (await selected(parking, options)).flatMap((parked) => {
      const record = byPlace.get(`${parked.eventID ?? ''}\u0000${parked.sequence}`);
      return record === undefined ? [] : [{ ...parked, record }];
    });
    await parking.deadLetters.park(replaced);
    output.notice(`streamfold: ${replaced.length} parked records replaced by those of ${options.input === '-' ? 'stdin' : options.input}`);
  }
  return parking.redriver.redrive(options.projection === undefined ? {} : { projection: options.projection });
}

function placeOfRecord(record: unknown): string {
  const shaped = record as { eventID?: unknown; dynamodb?: { SequenceNumber?: unknown } } | null;
  return `${String(shaped?.eventID ?? '')}\u0000${String(shaped?.dynamodb?.SequenceNumber ?? '')}`;
}

export interface PurgeOptions extends ParkedOptions {
  readonly all?: boolean;
  readonly yes?: boolean;
}

/** Removes the parked records the filters select; without `--yes` it only says what it would remove. */
export async function purgeParkedCommand(options: PurgeOptions, logger: Logger, output: Output): Promise<PurgeResult> {
  if (options.projection === undefined && options.key === undefined && options.all !== true) {
    throw new UsageError('say which parked records to purge: --projection, --key, or --all', '--all');
  }
  const parking = await parkingOf(options, logger, output);
  const records = await selected(parking, options);
  if (options.yes !== true) {
    for (const record of records) output.notice(`  would remove ${record.projection} ${record.key} at ${record.sequence} (${record.reason})`);
    throw new UsageError(`purge removes ${records.length} parked records for good: run it again with --yes`, '--yes');
  }
  return purgeParked(records, parking.projections, parking.deadLetters, parking.store, logger);
}

export function formatPurge(result: PurgeResult): string {
  const lines = [`purged ${result.removed.length} parked records`];
  if (result.unblocked > 0) lines.push(`  ${result.unblocked} items no longer wait: their next records apply`);
  if (result.streamsStillWaiting > 0) {
    lines.push(`  ${result.streamsStillWaiting} event streams still wait at a purged version (an event log cannot skip one)`);
  }
  return lines.join('\n');
}

export function purgeJson(result: PurgeResult): Record<string, unknown> {
  return { purged: result.removed.length, unblocked: result.unblocked, streamsStillWaiting: result.streamsStillWaiting, records: result.removed.map(placeOf) };
}

const placeOf = (record: ParkedRecord) => ({ projection: record.projection, key: record.key, sequence: record.sequence, reason: record.reason });

export function formatRedrive(result: RedriveResult): string {
  const lines = [
    `redrove ${result.applied.length + result.obsolete.length + result.stillParked.length} parked records`,
    `  applied       ${result.applied.length}`,
    `  obsolete      ${result.obsolete.length} (covered by the checkpoint: superseded by later records, or applied before)`,
    `  still parked  ${result.stillParked.length}`,
  ];
  for (const record of result.stillParked.filter((parked) => parked.reason === 'failed')) {
    lines.push(`  ${record.projection} ${record.key} at ${record.sequence}: ${record.error.message}`);
  }
  return lines.join('\n');
}

export function redriveJson(result: RedriveResult): Record<string, unknown> {
  return {
    applied: result.applied.map(placeOf),
    obsolete: result.obsolete.map(placeOf),
    stillParked: result.stillParked.map((record) => ({ ...placeOf(record), error: record.error })),
  };
}

