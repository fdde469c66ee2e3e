import type { ServiceIdentifier } from 'inversify';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { FanOutDispatcher } from './fanout/dispatcher.js';
import type { DynamoDbReadModelStore } from '../adapters/dynamodb/store.js';
import type { Config } from './core/config.js';
import type { StreamConsumer } from './consumer/consumer.js';
import type { ProjectionRuntime } from './projection/runtime.js';
import type { Logger } from './core/logging.js';
import type { Redriver } from './projection/redrive.js';
import type { GenerationRegistry } from './rebuild/ports.js';
import type { DeadLetterStore, ReadModelStore } from './projection/ports.js';

/** Typed service identifiers, in one place: only the composition root resolves them. */
export const TOKENS = {
  config: Symbol('Config') as ServiceIdentifier<Config>,
  logger: Symbol('Logger') as ServiceIdentifier<Logger>,
  dynamoDbClient: Symbol('DynamoDBClient') as ServiceIdentifier<DynamoDBClient>,
  dynamoDbStore: Symbol('DynamoDbReadModelStore') as ServiceIdentifier<DynamoDbReadModelStore>,
  store: Symbol('ReadModelStore') as ServiceIdentifier<ReadModelStore>,
  /** `null` when parking is off: poison records are then reported as failed. */
  deadLetters: Symbol('DeadLetterStore') as ServiceIdentifier<DeadLetterStore | null>,
  lanes: Symbol('ConsumerLanes') as ServiceIdentifier<readonly ProjectionRuntime[]>,
  consumer: Symbol('StreamConsumer') as ServiceIdentifier<StreamConsumer>,
  fanOut: Symbol('FanOutDispatcher') as ServiceIdentifier<FanOutDispatcher>,
  /** `null` when the read models are not in DynamoDB (a store was supplied). */
  registry: Symbol('GenerationRegistry') as ServiceIdentifier<GenerationRegistry | null>,
  /** `null` when parking is off. */
  redriver: Symbol('Redriver') as ServiceIdentifier<Redriver | null>,
} as const;
