import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type AttributeValue,
  type _Record as SdkStreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { RecordPage, ShardInfo, ShardPosition, StreamSource } from '../../src/local/ports.js';

/** GetRecords returns at most 1,000 records (or 1 MB) per call. */
export const GET_RECORDS_MAX = 1000;

/**
 * DynamoDB Streams through the AWS SDK, giving records in the JSON shape Lambda delivers, so the local
 * poller feeds the handler exactly what production would.
 */
export class DynamoDbStreamSource implements StreamSource {
  constructor(private readonly client: DynamoDBStreamsClient) {}

  async shards(streamArn: string): Promise<ShardInfo[]> {
    const shards: ShardInfo[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await this.client.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
      );
      for (const shard of StreamDescription?.Shards ?? []) {
        if (shard.ShardId === undefined) continue;
        shards.push({
          shardId: shard.ShardId,
          parentShardId: shard.ParentShardId,
          closed: shard.SequenceNumberRange?.EndingSequenceNumber !== undefined,
        });
      }
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
    return shards;
  }

  async iterator(streamArn: string, shardId: string, position: ShardPosition): Promise<string> {
    const { ShardIterator } = await this.client.send(
      new GetShardIteratorCommand({
        StreamArn: streamArn,
        ShardId: shardId,
        ShardIteratorType: position.type,
        SequenceNumber: 'sequence' in position ? position.sequence : undefined,
      }),
    );
    if (ShardIterator === undefined) throw new Error(`no iterator for shard ${shardId}`);
    return ShardIterator;
  }

  async read(iterator: string): Promise<RecordPage> {
    let response;
    try {
      response = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: GET_RECORDS_MAX }));
    } catch (error) {
      if (error instanceof ExpiredIteratorException) return { records: [], nextIterator: undefined, expired: true };
      throw error;
    }
    return {
      records: (response.Records ?? []).map(toLambdaRecord),
      nextIterator: response.NextShardIterator ?? undefined,
    };
  }
}

/** The SDK's record (dates as Date, binaries as bytes) in the shape of a Lambda event record. */
export function toLambdaRecord(record: SdkStreamRecord): Record<string, unknown> {
  const body = record.dynamodb ?? {};
  const time = body.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: record.eventSource,
    awsRegion: record.awsRegion,
    dynamodb: {
      ApproximateCreationDateTime: time === undefined ? undefined : Math.floor(time.getTime() / 1000),
      Keys: body.Keys === undefined ? undefined : toJsonMap(body.Keys),
      NewImage: body.NewImage === undefined ? undefined : toJsonMap(body.NewImage),
      OldImage: body.OldImage === undefined ? undefined : toJsonMap(body.OldImage),
      SequenceNumber: body.SequenceNumber,
      SizeBytes: body.SizeBytes,
      StreamViewType: body.StreamViewType,
    },
    ...(record.userIdentity === undefined
      ? {}
      : { userIdentity: { type: record.userIdentity.Type, principalId: record.userIdentity.PrincipalId } }),
  };
}

function toJsonMap(map: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(map).map(([name, value]) => [name, toJsonValue(value)]));
}

function toJsonValue(value: AttributeValue): unknown {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((bytes) => Buffer.from(bytes).toString('base64')) };
  if (value.L !== undefined) return { L: value.L.map(toJsonValue) };
  if (value.M !== undefined) return { M: toJsonMap(value.M) };
  return value;
}
