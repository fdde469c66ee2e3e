import type * as z from 'zod';
import { StreamfoldError, isStreamfoldError } from '../core/errors.js';
import { decodeItem, isPlainRecord, type Item } from './attribute-value.js';
import type { ChangeEvent, ChangeKind, ChangeSource, DecodeResult } from './change-event.js';
import { itemKeyFromKeys, type ItemKey } from './item-key.js';
import { isSequence } from './sequence.js';
import {
  DynamoDBStreamRecordSchema,
  isWellFormedRecord,
  TTL_PRINCIPAL,
  type DynamoDBStreamRecord,
  type StreamViewType,
} from './stream-record.js';

const KINDS: Record<DynamoDBStreamRecord['eventName'], ChangeKind> = {
  INSERT: 'insert',
  MODIFY: 'modify',
  REMOVE: 'remove',
};

export interface DecodeOptions {
  /** The table this consumer reads: a record of another table is refused, naming both. */
  readonly table?: string | undefined;
}

/** Decodes every record of a batch on its own: a malformed record fails alone. */
export function decodeRecords(records: readonly unknown[], options: DecodeOptions = {}): DecodeResult[] {
  return records.map((record, index) => decodeRecord(record, index, undefined, options));
}

/**
 * Decodes one Lambda DynamoDB stream record. `identifier` is how Lambda names it in `batchItemFailures`:
 * its own sequence number for DynamoDB Streams, the Kinesis sequence number when it came through Kinesis.
 */
export function decodeRecord(
  record: unknown,
  index: number,
  identifier?: string,
  options: DecodeOptions = {},
): DecodeResult {
  const location = locate(record, index);
  try {
    const event = decodeValidRecord(record, index, location.key);
    if (options.table !== undefined && event.source.table !== options.table) {
      // A record that names no table (no eventSourceARN) cannot be shown to be this table's: refused too.
      throw new StreamfoldError(
        'MALFORMED_RECORD',
        event.source.table === undefined
          ? `the record names no table (it has no eventSourceARN); this consumer reads ${options.table}`
          : `the record is from table ${event.source.table}; this consumer reads ${options.table}`,
        { field: `Records[${index}].eventSourceARN` },
      );
    }
    return { ok: true, index, identifier: identifier ?? event.sequence, event, record };
  } catch (error) {
    const cause = isStreamfoldError(error)
      ? error
      : new StreamfoldError('MALFORMED_RECORD', 'record could not be decoded', { cause: error });
    return {
      ok: false,
      index,
      identifier: identifier ?? location.sequence,
      eventID: location.eventID,
      key: location.key,
      sequence: location.sequence,
      record,
      error: cause.locate({ eventID: location.eventID, key: location.key?.id, sequence: location.sequence }),
    };
  }
}

function decodeValidRecord(record: unknown, index: number, key: ItemKey | undefined): ChangeEvent {
  const prefix = `Records[${index}]`;
  let data: DynamoDBStreamRecord;
  if (isWellFormedRecord(record)) {
    data = record;
  } else {
    const parsed = DynamoDBStreamRecordSchema.safeParse(record);
    if (!parsed.success) throw envelopeError(parsed.error, prefix);
    data = parsed.data;
  }
  const body = data.dynamodb;
  const itemKey = key ?? itemKeyFromKeys(body.Keys, `${prefix}.dynamodb.Keys`);
  const kind = KINDS[data.eventName];
  const newImage = body.NewImage === undefined ? undefined : decodeItem(body.NewImage, `${prefix}.dynamodb.NewImage`);
  const oldImage = body.OldImage === undefined ? undefined : decodeItem(body.OldImage, `${prefix}.dynamodb.OldImage`);
  checkImages(kind, body.StreamViewType, newImage, oldImage, prefix);
  return {
    eventID: data.eventID,
    kind,
    key: itemKey,
    sequence: body.SequenceNumber,
    approximateTime:
      body.ApproximateCreationDateTime === undefined ? undefined : Math.floor(body.ApproximateCreationDateTime * 1000),
    newImage,
    oldImage,
    viewType: body.StreamViewType,
    ttlExpiry: kind === 'remove' && data.userIdentity?.principalId === TTL_PRINCIPAL,
    replay: false,
    source: sourceOf(data.tableName, data.eventSourceARN, data.awsRegion),
  };
}

/** Which images a record must carry, by its kind and the stream's view type. */
function checkImages(
  kind: ChangeKind,
  viewType: StreamViewType | undefined,
  newImage: Item | undefined,
  oldImage: Item | undefined,
  prefix: string,
): void {
  if (kind === 'insert' && oldImage !== undefined) {
    throw new StreamfoldError('MALFORMED_RECORD', 'an INSERT cannot carry an old image', {
      field: `${prefix}.dynamodb.OldImage`,
    });
  }
  if (kind === 'remove' && newImage !== undefined) {
    throw new StreamfoldError('MALFORMED_RECORD', 'a REMOVE cannot carry a new image', {
      field: `${prefix}.dynamodb.NewImage`,
    });
  }
  if (viewType === undefined) return;
  const carriesNew = viewType === 'NEW_IMAGE' || viewType === 'NEW_AND_OLD_IMAGES';
  const carriesOld = viewType === 'OLD_IMAGE' || viewType === 'NEW_AND_OLD_IMAGES';
  if (carriesNew && kind !== 'remove' && newImage === undefined) {
    throw new StreamfoldError('MALFORMED_RECORD', `a ${viewType} stream record of this kind must carry NewImage`, {
      field: `${prefix}.dynamodb.NewImage`,
    });
  }
  if (carriesOld && kind !== 'insert' && oldImage === undefined) {
    throw new StreamfoldError('MALFORMED_RECORD', `a ${viewType} stream record of this kind must carry OldImage`, {
      field: `${prefix}.dynamodb.OldImage`,
    });
  }
}

/** Reads what it can of a record's position before validating it, so that even a broken record is named. */
function locate(record: unknown, index: number): { eventID?: string; sequence?: string; key?: ItemKey } {
  if (!isPlainRecord(record)) return {};
  const eventID = typeof record.eventID === 'string' ? record.eventID : undefined;
  const body = isPlainRecord(record.dynamodb) ? record.dynamodb : undefined;
  const sequence = isSequence(body?.SequenceNumber) ? body.SequenceNumber : undefined;
  let key: ItemKey | undefined;
  try {
    key = body === undefined ? undefined : itemKeyFromKeys(body.Keys, `Records[${index}].dynamodb.Keys`);
  } catch {
    key = undefined;
  }
  return { eventID, sequence, key };
}

function envelopeError(error: z.ZodError, prefix: string): StreamfoldError {
  const issue = error.issues[0];
  const field = issue === undefined ? prefix : [prefix, ...issue.path.map(String)].join('.');
  return new StreamfoldError('MALFORMED_RECORD', issue?.message ?? 'invalid record', { field, cause: error });
}

let lastSource: { tableName: string | undefined; source: ChangeSource } | undefined;

/** One shared, frozen description per source: a batch's records nearly always share theirs. */
function sourceOf(tableName: string | undefined, streamArn: string | undefined, region: string | undefined): ChangeSource {
  const last = lastSource;
  if (last !== undefined && last.tableName === tableName && last.source.streamArn === streamArn && last.source.region === region) {
    return last.source;
  }
  const source = Object.freeze({ table: tableName ?? tableFromStreamArn(streamArn), streamArn, region });
  lastSource = { tableName, source };
  return source;
}

/** `arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2024-01-01T00:00:00.000` → `Orders`. */
export function tableFromStreamArn(arn: string | undefined): string | undefined {
  if (arn === undefined) return undefined;
  const match = /:table\/([^/]+)/.exec(arn);
  return match?.[1];
}
