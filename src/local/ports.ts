/** A shard of a DynamoDB stream, as the local poller needs to know it. */
export interface ShardInfo {
  readonly shardId: string;
  readonly parentShardId: string | undefined;
  /** A closed shard has an ending sequence number: it gets no new records, and its children take over. */
  readonly closed?: boolean;
}

export type ShardPosition =
  | { readonly type: 'TRIM_HORIZON' }
  | { readonly type: 'LATEST' }
  | { readonly type: 'AT_SEQUENCE_NUMBER'; readonly sequence: string }
  | { readonly type: 'AFTER_SEQUENCE_NUMBER'; readonly sequence: string };

export interface RecordPage {
  /** Records in Lambda's JSON shape (binaries as base64, time in epoch seconds). */
  readonly records: readonly unknown[];
  /** `undefined` once a closed shard has been read to its end, or when the iterator expired. */
  readonly nextIterator: string | undefined;
  /** The iterator was older than DynamoDB keeps one (15 minutes): get a new one where reading stopped. */
  readonly expired?: boolean;
}

/** Reading a DynamoDB stream shard by shard: what the DynamoDB Streams adapter implements. */
export interface StreamSource {
  shards(streamArn: string): Promise<ShardInfo[]>;
  iterator(streamArn: string, shardId: string, position: ShardPosition): Promise<string>;
  read(iterator: string): Promise<RecordPage>;
}
