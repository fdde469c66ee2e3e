import { Container, ContainerModule } from 'inversify';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../adapters/dynamodb/client.js';
import { DynamoDbReadModelStore } from '../adapters/dynamodb/store.js';
import { loadConfig, type Config } from './config.js';
import { StreamConsumer } from './consumer.js';
import { createLogger, type Logger } from './logging.js';
import type { Projection } from './projection/define.js';
import type { ReadModelStore } from './projection/ports.js';
import { ProjectionRuntime } from './projection/runtime.js';
import { TOKENS } from './tokens.js';

/** What a caller may supply instead of what the environment would give: tests replace bindings this way. */
export interface ConsumerOverrides {
  readonly config?: Partial<Config>;
  readonly environment?: Record<string, string | undefined>;
  readonly logger?: Logger;
  readonly dynamoDbClient?: DynamoDBClient;
  readonly store?: ReadModelStore;
}

/**
 * The composition root: the only place that knows inversify and wires ports to adapters. The Lambda handler
 * builds it once per container; the engine's classes take plain constructor arguments.
 */
export function buildContainer(projections: readonly Projection[], overrides: ConsumerOverrides = {}): Container {
  const container = new Container({ defaultScope: 'Singleton' });
  container.load(
    new ContainerModule(({ bind }) => {
      bind(TOKENS.config).toConstantValue({ ...loadConfig(overrides.environment), ...overrides.config });
      bind(TOKENS.logger).toResolvedValue(
        (config: Config) => overrides.logger ?? createLogger(config.LOG_LEVEL),
        [TOKENS.config],
      );
    }),
    new ContainerModule(({ bind }) => {
      bind(TOKENS.dynamoDbClient).toResolvedValue(
        (config: Config) =>
          overrides.dynamoDbClient ??
          createDynamoDbClient({ endpoint: config.STREAMFOLD_DYNAMODB_ENDPOINT, region: config.AWS_REGION }),
        [TOKENS.config],
      );
    }),
    new ContainerModule(({ bind }) => {
      bind(TOKENS.dynamoDbStore).toResolvedValue(
        (config: Config, client: DynamoDBClient) =>
          new DynamoDbReadModelStore({
            client,
            consumer: config.STREAMFOLD_CONSUMER,
            tables: { readModels: config.STREAMFOLD_READ_MODEL_TABLE, checkpoints: config.STREAMFOLD_CHECKPOINT_TABLE },
            concurrency: config.STREAMFOLD_CONCURRENCY,
          }),
        [TOKENS.config, TOKENS.dynamoDbClient],
      );
      if (overrides.store === undefined) bind(TOKENS.store).toService(TOKENS.dynamoDbStore);
      else bind(TOKENS.store).toConstantValue(overrides.store);
    }),
    new ContainerModule(({ bind }) => {
      bind(TOKENS.projections).toConstantValue(projections);
      bind(TOKENS.runtime).toResolvedValue(
        (config: Config, store: ReadModelStore, logger: Logger, all: readonly Projection[]) =>
          new ProjectionRuntime(all, store, logger, { maxRounds: config.STREAMFOLD_MAX_ROUNDS }),
        [TOKENS.config, TOKENS.store, TOKENS.logger, TOKENS.projections],
      );
      bind(TOKENS.consumer).toResolvedValue(
        (runtime: ProjectionRuntime, logger: Logger) => new StreamConsumer(runtime, logger),
        [TOKENS.runtime, TOKENS.logger],
      );
    }),
  );
  return container;
}

/** The pieces a caller drives: the consumer, and the DynamoDB store behind it for reads and usage figures. */
export interface Composition {
  readonly config: Config;
  readonly consumer: StreamConsumer;
  readonly store: ReadModelStore;
  readonly dynamoDbStore: DynamoDbReadModelStore;
  readonly logger: Logger;
}

export function compose(projections: readonly Projection[], overrides: ConsumerOverrides = {}): Composition {
  const container = buildContainer(projections, overrides);
  return {
    config: container.get(TOKENS.config),
    consumer: container.get(TOKENS.consumer),
    store: container.get(TOKENS.store),
    dynamoDbStore: container.get(TOKENS.dynamoDbStore),
    logger: container.get(TOKENS.logger),
  };
}
