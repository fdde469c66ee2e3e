import type { DynamoDbReadModelStore } from '../../adapters/dynamodb/store.js';
import type { BatchReport } from '../consumer.js';
import { compose, type AnyProjection, type ConsumerOverrides } from '../container.js';
import { StreamfoldError } from '../errors.js';
import { DynamoDBStreamEventSchema, type BatchResponse } from '../records/stream-record.js';

export interface HandlerOptions extends ConsumerOverrides {
  readonly projections: readonly AnyProjection[];
}

export interface StreamHandler {
  /** What Lambda calls: the answer is `{ batchItemFailures }`. */
  (event: unknown): Promise<BatchResponse>;
  /** The same invocation, answering with the batch's figures too: for the local runner and `replay`. */
  invoke(event: unknown): Promise<BatchReport>;
  /** The read-model store behind the handler, for reads and DynamoDB usage figures. */
  readonly store: DynamoDbReadModelStore;
}

/**
 * A Lambda handler for a DynamoDB stream event source mapping with `ReportBatchItemFailures` on. Call it
 * at module scope: the consumer and its clients are built once per container, not per invocation.
 */
export function createHandler(options: HandlerOptions): StreamHandler {
  const { consumer, dynamoDbStore } = compose(options.projections, options);
  const invoke = async (event: unknown): Promise<BatchReport> => {
    const parsed = DynamoDBStreamEventSchema.safeParse(event);
    if (!parsed.success) {
      // Not a stream batch at all: failing the invocation is the only honest answer.
      throw new StreamfoldError('MALFORMED_RECORD', 'the event is not a DynamoDB stream batch: Records is missing', {
        cause: parsed.error,
      });
    }
    return consumer.process(parsed.data.Records);
  };
  const handler = async (event: unknown): Promise<BatchResponse> => {
    const report = await invoke(event);
    return { batchItemFailures: report.batchItemFailures };
  };
  return Object.assign(handler, { invoke, store: dynamoDbStore });
}
