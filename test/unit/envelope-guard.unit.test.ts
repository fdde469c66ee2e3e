import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DynamoDBStreamRecordSchema, isWellFormedRecord } from '../../src/records/stream-record.js';
import { orderRecord } from '../support/records.js';

/** Values that might appear in a record's fields, valid or not. */
const anything = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string(),
  fc.constantFrom('INSERT', 'MODIFY', 'REMOVE', 'UPSERT', 'KEYS_ONLY', 'NEW_IMAGE', '123', '000000000000000000001', '1'.repeat(41)),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.dictionary(fc.string(), fc.string()),
);

describe('the fast envelope check', () => {
  it('accepts nothing the schema refuses', () => {
    const base = orderRecord('100000000000000000001', { orderId: 'o', customerId: 'c', status: 's', amount: 1 });
    fc.assert(
      fc.property(
        fc.constantFrom('eventID', 'eventName', 'eventSourceARN', 'tableName', 'userIdentity', 'dynamodb', 'dynamodb.Keys', 'dynamodb.NewImage', 'dynamodb.SequenceNumber', 'dynamodb.ApproximateCreationDateTime', 'dynamodb.SizeBytes', 'dynamodb.StreamViewType', 'userIdentity.principalId'),
        anything,
        (field, value) => {
          const record = structuredClone(base) as Record<string, any>;
          const [outer, inner] = field.split('.') as [string, string | undefined];
          if (inner === undefined) record[outer] = value;
          else if (typeof record[outer] === 'object' && record[outer] !== null) record[outer][inner] = value;
          else record[outer] = { [inner]: value };
          if (isWellFormedRecord(record)) expect(DynamoDBStreamRecordSchema.safeParse(record).success).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
    expect(isWellFormedRecord(base)).toBe(true);
  });
});
