import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Config } from './core/config.js';
import type { Logger } from './core/logging.js';
import type { MetricWriter } from './consumer/metrics.js';
import type { FanOut } from './fanout/define.js';
import type { DeadLetterStore, ReadModelStore } from './projection/ports.js';

// Kept out of the composition root because `createHandler`'s and the rebuild worker's options extend it: their
// declarations would otherwise import container.d.ts, and with it `inversify`, whose types a CommonJS app
// compiled as `cdk init` makes it (`"module": "commonjs"`, no `skipLibCheck`) cannot resolve (TS2307).

/** What a caller may supply instead of what the environment would give: tests replace bindings this way. */
export interface ConsumerOverrides {
  readonly config?: Partial<Config>;
  readonly environment?: Record<string, string | undefined>;
  readonly logger?: Logger;
  /** Where embedded-metric lines go: by default stdout in Lambda, the logger (at info) elsewhere. */
  readonly writeMetric?: MetricWriter;
  readonly dynamoDbClient?: DynamoDBClient;
  readonly store?: ReadModelStore;
  /** A dead-letter store, or `null` to report poison records as failed instead of parking them. */
  readonly deadLetters?: DeadLetterStore | null;
  /** Which change events go out, and where; `STREAMFOLD_EVENTBRIDGE_BUS` / `STREAMFOLD_SQS_QUEUE_URL` add one each. */
  readonly fanOut?: readonly FanOut[];
  readonly eventBridgeClient?: EventBridgeClient;
  readonly sqsClient?: SQSClient;
}
