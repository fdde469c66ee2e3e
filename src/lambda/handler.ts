import type { DynamoDbReadModelStore } from '../../adapters/dynamodb/store.js';
import type { BatchReport } from '../consumer/consumer.js';
import type { AnyProjection } from '../catalog/kinds.js';
import { compose } from '../container.js';
import type { ConsumerOverrides } from '../consumer-overrides.js';
import { StreamfoldError } from '../core/errors.js';
import { withLogFields } from '../core/logging.js';
import { DynamoDBStreamEventSchema, type BatchResponse } from '../records/stream-record.js';
import type { DeadLetterStore } from '../projection/ports.js';

export interface HandlerOptions extends ConsumerOverrides {
  readonly projections: readonly AnyProjection[];
}

/** What the handler reads of Lambda's context object (`Context` of `@types/aws-lambda` has these). */
export interface LambdaContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

export interface StreamHandler {
  /** What Lambda calls: the answer is `{ batchItemFailures }`. */
  (event: unknown, context?: LambdaContext): Promise<BatchResponse>;
  /** The same invocation, answering with the batch's figures too: for the local runner and `replay`. */
  invoke(event: unknown, context?: LambdaContext): Promise<BatchReport>;
  /** The read-model store behind the handler, for reads and DynamoDB usage figures. */
  readonly store: DynamoDbReadModelStore;
  /** Where it parks records (none with parking off), for listing what a run parked. */
  readonly deadLetters: DeadLetterStore | null;
}

/**
 * A Lambda handler for a DynamoDB stream event source mapping with `ReportBatchItemFailures` on. Call it
 * at module scope: the consumer and its clients are built once per container, not per invocation. Every
 * log line of an invocation carries its `requestId`, and `coldStart: true` on the container's first.
 */
export function createHandler(options: HandlerOptions): StreamHandler {
  const { consumer, dynamoDbStore, deadLetters } = compose(options.projections, options);
  let invoked = false;
  const invoke = async (event: unknown, context?: LambdaContext): Promise<BatchReport> => {
    const coldStart = !invoked;
    invoked = true;
    const requestId = context?.awsRequestId;
    return withLogFields({ ...(requestId === undefined ? {} : { requestId }), coldStart }, () => {
      const parsed = DynamoDBStreamEventSchema.safeParse(event);
      if (!parsed.success) {
        // Not a stream batch at all: failing the invocation is the only honest answer.
        throw new StreamfoldError('MALFORMED_RECORD', 'the event is not a DynamoDB stream batch: Records is missing', {
          cause: parsed.error,
        });
      }
      return consumer.process(parsed.data.Records, {
        ...(requestId === undefined ? {} : { requestId }),
        ...(context === undefined ? {} : { remainingTimeMs: () => context.getRemainingTimeInMillis() }),
      });
    });
  };
  const handler = async (event: unknown, context?: LambdaContext): Promise<BatchResponse> => {
    const report = await invoke(event, context);
    return { batchItemFailures: report.batchItemFailures };
  };
  return Object.assign(handler, { invoke, store: dynamoDbStore, deadLetters });
}
