import { seededRandom } from '../../src/testing/random.js';

/**
 * What Kinesis Data Streams for DynamoDB would deliver for these DynamoDB stream records: each change as
 * base64 JSON in a Kinesis record, with its creation time in microseconds. DynamoDB Local rounds stream
 * times to the minute, so the time is taken from the records' stream order (1 ms apart), which is the order
 * DynamoDB wrote them in. Kinesis sequence numbers follow the delivery order given.
 */
export function toKinesisRecords(
  streamRecords: readonly Record<string, unknown>[],
  options: { seed: number; jitter: number; duplicates: number; baseMicros?: bigint },
): Record<string, unknown>[] {
  const random = seededRandom(options.seed);
  const base = options.baseMicros ?? 1_764_000_000_000_000n;
  const changes = streamRecords.map((record, index) => {
    const body = record.dynamodb as Record<string, unknown>;
    const { SequenceNumber: _sequence, StreamViewType: _viewType, ...dynamodb } = body;
    return {
      awsRegion: 'eu-west-1',
      eventID: record.eventID,
      eventName: record.eventName,
      userIdentity: record.userIdentity ?? null,
      recordFormat: 'application/json',
      tableName: 'Orders',
      dynamodb: {
        ...dynamodb,
        ApproximateCreationDateTime: Number(base + BigInt(index) * 1000n),
        ApproximateCreationDateTimePrecision: 'MICROSECOND',
      },
      eventSource: 'aws:dynamodb',
    };
  });
  // Out of order by a few records: each change may slip up to `jitter` places later.
  const delivery = changes.map((change, index) => ({ change, at: index + random() * options.jitter }));
  for (let count = 0; count < options.duplicates; count += 1) {
    const index = Math.floor(random() * changes.length);
    delivery.push({ change: changes[index]!, at: index + 1 + random() * 20 });
  }
  delivery.sort((a, b) => a.at - b.at);
  return delivery.map(({ change }, position) => ({
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: 'pk',
      sequenceNumber: (49650000000000000000000000000000000000000000000000000000n + BigInt(position) * 7n).toString(),
      data: Buffer.from(JSON.stringify(change)).toString('base64'),
      approximateArrivalTimestamp: 1_764_000_000.5,
    },
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `shardId-000000000000:${position}`,
    eventName: 'aws:kinesis:record',
    awsRegion: 'eu-west-1',
    eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/orders-changes',
  }));
}
