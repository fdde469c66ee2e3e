import * as z from 'zod';
import { isSequence } from './sequence.js';

/**
 * The DynamoDB Streams record as Lambda delivers it (JSON, binaries in base64). Attribute values are checked
 * by the attribute decoder, which names the exact field, so the envelope leaves them `unknown` here.
 */
export const StreamViewTypeSchema = z.enum(['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES']);
export type StreamViewType = z.infer<typeof StreamViewTypeSchema>;

export const EventNameSchema = z.enum(['INSERT', 'MODIFY', 'REMOVE']);

/**
 * A map of attributes, passed through untouched: zod rebuilds records it parses and drops a `__proto__`
 * key on the way, which would lose data. The attribute decoder reads the original.
 */
const AttributeMapSchema = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'expected a map of attributes',
);

export const StreamRecordBodySchema = z.looseObject({
  ApproximateCreationDateTime: z.number().nonnegative().optional(),
  Keys: AttributeMapSchema,
  NewImage: AttributeMapSchema.optional(),
  OldImage: AttributeMapSchema.optional(),
  SequenceNumber: z.string().regex(/^\d{1,40}$/, 'a sequence number is 1 to 40 digits'),
  SizeBytes: z.number().nonnegative().optional(),
  StreamViewType: StreamViewTypeSchema.optional(),
});

export const DynamoDBStreamRecordSchema = z.looseObject({
  eventID: z.string().min(1),
  eventName: EventNameSchema,
  eventVersion: z.string().optional(),
  eventSource: z.string().optional(),
  awsRegion: z.string().optional(),
  eventSourceARN: z.string().optional(),
  /** Set on records that came through Kinesis Data Streams, which name their table directly. */
  tableName: z.string().optional(),
  userIdentity: z.looseObject({ type: z.string().optional(), principalId: z.string().optional() }).optional(),
  dynamodb: StreamRecordBodySchema,
});

export type DynamoDBStreamRecord = z.infer<typeof DynamoDBStreamRecordSchema>;

const EVENT_NAMES = new Set<unknown>(EventNameSchema.options);
const VIEW_TYPES = new Set<unknown>(StreamViewTypeSchema.options);

/**
 * A hand-written check of the schema above for the valid records that make up nearly every batch, which a
 * schema parse would rebuild object by object. It accepts only what the schema accepts (a property test
 * holds it to that); whatever it refuses goes through the schema, which names the field.
 */
export function isWellFormedRecord(record: unknown): record is DynamoDBStreamRecord {
  if (!isObject(record)) return false;
  const { eventID, eventName, dynamodb: body, userIdentity } = record;
  if (typeof eventID !== 'string' || eventID.length === 0 || !EVENT_NAMES.has(eventName)) return false;
  for (const name of ['eventVersion', 'eventSource', 'awsRegion', 'eventSourceARN', 'tableName']) {
    if (record[name] !== undefined && typeof record[name] !== 'string') return false;
  }
  if (userIdentity !== undefined) {
    if (!isObject(userIdentity)) return false;
    if (userIdentity.type !== undefined && typeof userIdentity.type !== 'string') return false;
    if (userIdentity.principalId !== undefined && typeof userIdentity.principalId !== 'string') return false;
  }
  if (!isObject(body) || !isObject(body.Keys)) return false;
  if (body.NewImage !== undefined && !isObject(body.NewImage)) return false;
  if (body.OldImage !== undefined && !isObject(body.OldImage)) return false;
  if (!isSequence(body.SequenceNumber)) return false;
  for (const name of ['ApproximateCreationDateTime', 'SizeBytes']) {
    const value = body[name];
    if (value !== undefined && (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))) return false;
  }
  return body.StreamViewType === undefined || VIEW_TYPES.has(body.StreamViewType);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The Lambda event: records are validated one by one, so one bad record never fails the others. */
export const DynamoDBStreamEventSchema = z.object({ Records: z.array(z.unknown()) });

export const BatchItemFailureSchema = z.object({ itemIdentifier: z.string().min(1) });
export const BatchResponseSchema = z.object({ batchItemFailures: z.array(BatchItemFailureSchema) });
export type BatchResponse = z.infer<typeof BatchResponseSchema>;

/** TTL expiries are deletes made by the DynamoDB service itself. */
export const TTL_PRINCIPAL = 'dynamodb.amazonaws.com';
