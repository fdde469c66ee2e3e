import { marshall } from '@aws-sdk/util-dynamodb';

/** Record factories: Lambda-shaped DynamoDB stream records, built without streamfold's own encoder. */
export type WireMap = Record<string, unknown>;

export interface RecordSpec {
  readonly eventName: 'INSERT' | 'MODIFY' | 'REMOVE';
  readonly keys: WireMap;
  readonly sequence: string;
  readonly eventID?: string;
  readonly newImage?: WireMap;
  readonly oldImage?: WireMap;
  readonly viewType?: 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES';
  readonly time?: number;
  readonly ttl?: boolean;
  readonly table?: string;
}

export function streamRecord(spec: RecordSpec): Record<string, unknown> {
  const table = spec.table ?? 'Orders';
  return {
    eventID: spec.eventID ?? `evt-${spec.sequence}`,
    eventName: spec.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    eventSourceARN: `arn:aws:dynamodb:eu-west-1:123456789012:table/${table}/stream/2026-11-25T00:00:00.000`,
    dynamodb: {
      ApproximateCreationDateTime: spec.time ?? 1_764_000_000,
      Keys: spec.keys,
      ...(spec.newImage === undefined ? {} : { NewImage: spec.newImage }),
      ...(spec.oldImage === undefined ? {} : { OldImage: spec.oldImage }),
      SequenceNumber: spec.sequence,
      SizeBytes: 100,
      StreamViewType: spec.viewType ?? 'NEW_AND_OLD_IMAGES',
    },
    ...(spec.ttl === true ? { userIdentity: { type: 'Service', principalId: 'dynamodb.amazonaws.com' } } : {}),
  };
}

export interface TestOrder {
  readonly orderId: string;
  readonly customerId: string;
  readonly status: string;
  readonly amount: number | bigint;
}

export const wire = (value: Record<string, unknown>): WireMap => marshall(value) as WireMap;

/** An `Orders` record: insert (no old), modify (old and new) or remove (no new). */
export function orderRecord(
  sequence: string,
  next: TestOrder | undefined,
  previous?: TestOrder,
  extra: Partial<RecordSpec> = {},
): Record<string, unknown> {
  const orderId = next?.orderId ?? previous?.orderId ?? 'missing';
  const eventName = next === undefined ? 'REMOVE' : previous === undefined ? 'INSERT' : 'MODIFY';
  return streamRecord({
    eventName,
    keys: { orderId: { S: orderId } },
    sequence,
    ...(next === undefined ? {} : { newImage: wire({ ...next }) }),
    ...(previous === undefined ? {} : { oldImage: wire({ ...previous }) }),
    ...extra,
  });
}
