import { z } from 'zod';

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

/** The Lambda event: records are validated one by one, so one bad record never fails the others. */
export const DynamoDBStreamEventSchema = z.object({ Records: z.array(z.unknown()) });
export type DynamoDBStreamEvent = z.infer<typeof DynamoDBStreamEventSchema>;

export const BatchItemFailureSchema = z.object({ itemIdentifier: z.string().min(1) });
export const BatchResponseSchema = z.object({ batchItemFailures: z.array(BatchItemFailureSchema) });
export type BatchResponse = z.infer<typeof BatchResponseSchema>;

/** TTL expiries are deletes made by the DynamoDB service itself. */
export const TTL_PRINCIPAL = 'dynamodb.amazonaws.com';
