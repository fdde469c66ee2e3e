import type { ParkedRecord } from '../src/projection/ports.js';

/**
 * A parked record without the record itself, for when no form of it can be stored (over SQS's message limit,
 * or refused by DynamoDB even in parts). Its coordinates (projection, key, sequence, eventID) and its error
 * stay, and the error says what happened and where the record can still be found: in the stream, for 24
 * hours from its write, and in the function's on-failure destination only if its batch fails for good (an
 * SQS or SNS destination gets the coordinates alone; an S3 one the whole invocation).
 */
export function parkedByCoordinates(record: ParkedRecord, why: string): ParkedRecord {
  const note =
    `[the record itself is not kept: ${why}; it stays in the stream for 24 hours from its write, ` +
    `at sequence ${record.sequence || '(none)'}${record.eventID === undefined ? '' : `, eventID ${record.eventID}`}]`;
  return { ...record, record: undefined, error: { ...record.error, message: `${record.error.message} ${note}` } };
}

/** Parking the same record twice in one call writes it once: the last copy, by the key the store files it under. */
export function lastOfEach(records: readonly ParkedRecord[], keyOf: (record: ParkedRecord) => string): ParkedRecord[] {
  return [...new Map(records.map((record) => [keyOf(record), record])).values()];
}
