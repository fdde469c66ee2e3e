import { createHash } from 'node:crypto';
import * as z from 'zod';
import { StreamfoldError } from '../core/errors.js';
import { isPlainRecord } from './attribute-value.js';
import type { DecodeResult } from './change-event.js';
import { decodeRecord, type DecodeOptions } from './decode.js';

/**
 * Kinesis Data Streams for DynamoDB: each Kinesis record carries one DynamoDB change record as base64 JSON,
 * with no DynamoDB sequence number, and records may come twice or out of order. Each is turned into the
 * shape of a DynamoDB stream record and decoded by the same decoder; Lambda names it by its Kinesis
 * sequence number.
 */
const KinesisRecordSchema = z.looseObject({
  eventSourceARN: z.string().optional(),
  awsRegion: z.string().optional(),
  kinesis: z.looseObject({
    sequenceNumber: z.string().regex(/^\d{1,130}$/, 'a Kinesis sequence number is digits'),
    data: z.string(),
  }),
});

const ChangeRecordSchema = z.looseObject({
  eventID: z.string().min(1),
  eventName: z.string(),
  awsRegion: z.string().optional(),
  tableName: z.string().optional(),
  userIdentity: z.unknown().optional(),
  dynamodb: z.looseObject({ ApproximateCreationDateTime: z.number().positive() }),
});

export function isKinesisRecord(record: unknown): boolean {
  return isPlainRecord(record) && isPlainRecord(record.kinesis);
}

export function decodeKinesisRecords(records: readonly unknown[], options: DecodeOptions = {}): DecodeResult[] {
  return records.map((record, index) => decodeKinesisRecord(record, index, options));
}

export function decodeKinesisRecord(record: unknown, index: number, options: DecodeOptions = {}): DecodeResult {
  const envelope = KinesisRecordSchema.safeParse(record);
  const identifier = envelope.success ? envelope.data.kinesis.sequenceNumber : undefined;
  const failure = (message: string, field: string, cause?: unknown): DecodeResult => ({
    ok: false,
    index,
    identifier,
    eventID: undefined,
    key: undefined,
    sequence: undefined,
    record,
    error: new StreamfoldError('MALFORMED_RECORD', message, { field, cause, sequence: identifier }),
  });
  if (!envelope.success) {
    const issue = envelope.error.issues[0];
    return failure(issue?.message ?? 'not a Kinesis record', [`Records[${index}]`, ...(issue?.path ?? []).map(String)].join('.'));
  }
  let change: unknown;
  try {
    change = JSON.parse(Buffer.from(envelope.data.kinesis.data, 'base64').toString('utf8'));
  } catch (error) {
    return failure('kinesis.data is not base64 JSON', `Records[${index}].kinesis.data`, error);
  }
  const parsed = ChangeRecordSchema.safeParse(change);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return failure(
      `kinesis.data is not a DynamoDB change record: ${issue?.message ?? 'invalid'}`,
      [`Records[${index}].kinesis.data`, ...(issue?.path ?? []).map(String)].join('.'),
    );
  }
  const data = parsed.data;
  const micros = toMicroseconds(data.dynamodb.ApproximateCreationDateTime);
  const streamShaped = {
    eventID: data.eventID,
    eventName: data.eventName,
    eventSource: 'aws:dynamodb',
    awsRegion: data.awsRegion ?? envelope.data.awsRegion,
    eventSourceARN: envelope.data.eventSourceARN,
    tableName: data.tableName,
    ...(isPlainRecord(data.userIdentity) ? { userIdentity: data.userIdentity } : {}),
    dynamodb: {
      ...data.dynamodb,
      ApproximateCreationDateTime: Number(micros) / 1e6,
      SequenceNumber: kinesisOrderingSequence(micros, data.eventID),
    },
  };
  return decodeRecord(streamShaped, index, identifier, options);
}

/** Digits of the eventID's hash after the time: two different changes in one microsecond collide once in 10^12. */
const TIEBREAK = 10n ** 12n;

/**
 * The sequence a Kinesis-delivered change is ordered by within its item: its creation time in microseconds,
 * then twelve digits derived from its eventID. A duplicate (same eventID) gets the same sequence and is
 * applied once; two changes of one item in the same microsecond are ordered by those digits, which need not
 * be the order they happened in.
 */
export function kinesisOrderingSequence(micros: bigint, eventID: string): string {
  const tiebreak = BigInt(`0x${createHash('sha256').update(eventID).digest('hex').slice(0, 16)}`) % TIEBREAK;
  return (micros * TIEBREAK + tiebreak).toString();
}

/** The time is in microseconds or milliseconds (the table's precision setting); its size says which. */
export function toMicroseconds(time: number): bigint {
  if (time >= 1e14) return BigInt(Math.round(time));
  if (time >= 1e11) return BigInt(Math.round(time * 1000));
  return BigInt(Math.round(time * 1e6));
}
