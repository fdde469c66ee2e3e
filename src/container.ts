import { Container, ContainerModule } from 'inversify';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../adapters/dynamodb/client.js';
import { DynamoDbDeadLetterStore } from '../adapters/dynamodb/dead-letters.js';
import { DynamoDbGenerationRegistry } from '../adapters/dynamodb/rebuild-state.js';
import { DynamoDbReadModelStore } from '../adapters/dynamodb/store.js';
import { loadConfig, tableNames, type Config } from './core/config.js';
import { StreamConsumer } from './consumer/consumer.js';
import { once } from '../adapters/lazy-client.js';
import { EventBridgePublisher } from '../adapters/eventbridge/publisher.js';
import { SqsDeadLetterStore } from '../adapters/sqs/dead-letters.js';
import { SqsPublisher } from '../adapters/sqs/publisher.js';
import { StreamfoldError } from './core/errors.js';
import { defineFanOut, type FanOut } from './fanout/define.js';
import { FanOutDispatcher, type FanOutRoute } from './fanout/dispatcher.js';
import { createLogger, type Logger } from './core/logging.js';
import { runtimesOf } from './catalog/lanes.js';
import { writeToStdout } from './consumer/metrics.js';
import type { AnyProjection } from './catalog/kinds.js';
import type { DeadLetterStore, ReadModelStore } from './projection/ports.js';
import { Redriver } from './projection/redrive.js';
import { ProjectionRuntime } from './projection/runtime.js';
import type { GenerationRegistry } from './rebuild/ports.js';
import { TOKENS } from './tokens.js';
import type { ConsumerOverrides } from './consumer-overrides.js';

export type { ConsumerOverrides };

/**
 * The composition root: the only place that knows inversify and wires ports to adapters. The Lambda handler
 * builds it once per container; the engine's classes take plain constructor arguments.
 */
export function buildContainer(projections: readonly AnyProjection[], overrides: ConsumerOverrides = {}): Container {
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
            tables: tableNames(config),
            concurrency: config.STREAMFOLD_CONCURRENCY,
          }),
        [TOKENS.config, TOKENS.dynamoDbClient],
      );
      if (overrides.store === undefined) bind(TOKENS.store).toService(TOKENS.dynamoDbStore);
      else bind(TOKENS.store).toConstantValue(overrides.store);
      bind(TOKENS.registry).toResolvedValue(
        (config: Config, client: DynamoDBClient): GenerationRegistry | null =>
          overrides.store === undefined ? new DynamoDbGenerationRegistry(client, config.STREAMFOLD_READ_MODEL_TABLE) : null,
        [TOKENS.config, TOKENS.dynamoDbClient],
      );
    }),
    new ContainerModule(({ bind }) => {
      bind(TOKENS.deadLetters).toResolvedValue(
        (config: Config, client: DynamoDBClient): DeadLetterStore | null => {
          if (overrides.deadLetters !== undefined) return overrides.deadLetters;
          if (config.STREAMFOLD_PARKING === 'off') return null;
          if (config.STREAMFOLD_PARKED_QUEUE_URL !== undefined) {
            return new SqsDeadLetterStore({
              client: overrides.sqsClient ?? sqsClientOf(config),
              queueUrl: config.STREAMFOLD_PARKED_QUEUE_URL,
            });
          }
          return new DynamoDbDeadLetterStore({
            client,
            table: config.STREAMFOLD_PARKED_TABLE,
            consumer: config.STREAMFOLD_CONSUMER,
          });
        },
        [TOKENS.config, TOKENS.dynamoDbClient],
      );
    }),
    new ContainerModule(({ bind }) => {
      bind(TOKENS.fanOut).toResolvedValue(
        (config: Config, logger: Logger, deadLetters: DeadLetterStore | null) =>
          new FanOutDispatcher(fanOutRoutes(config, overrides), logger, deadLetters ?? undefined),
        [TOKENS.config, TOKENS.logger, TOKENS.deadLetters],
      );
    }),
    new ContainerModule(({ bind }) => {
      bind(TOKENS.lanes).toResolvedValue(
        (config: Config, store: ReadModelStore, deadLetters: DeadLetterStore | null, logger: Logger) =>
          runtimesOf(projections, store, logger, { maxRounds: config.STREAMFOLD_MAX_ROUNDS, deadLetters: deadLetters ?? undefined }),
        [TOKENS.config, TOKENS.store, TOKENS.deadLetters, TOKENS.logger],
      );
      bind(TOKENS.consumer).toResolvedValue(
        (
          config: Config,
          lanes: readonly ProjectionRuntime[],
          logger: Logger,
          fanOut: FanOutDispatcher,
          registry: GenerationRegistry | null,
        ) =>
          new StreamConsumer(lanes, logger, fanOut, registry ?? undefined, {
            sourceTable: config.STREAMFOLD_SOURCE_TABLE,
            metricsNamespace: config.STREAMFOLD_METRICS_NAMESPACE === 'off' ? undefined : config.STREAMFOLD_METRICS_NAMESPACE,
            deadlineMarginMs: config.STREAMFOLD_DEADLINE_MARGIN_MS,
            consumerName: config.STREAMFOLD_CONSUMER,
            writeMetric:
              overrides.writeMetric ??
              (config.AWS_LAMBDA_FUNCTION_NAME === undefined ? (line) => logger.info(line, 'metrics') : writeToStdout),
          }),
        [TOKENS.config, TOKENS.lanes, TOKENS.logger, TOKENS.fanOut, TOKENS.registry],
      );
      bind(TOKENS.redriver).toResolvedValue(
        (lanes: readonly ProjectionRuntime[], deadLetters: DeadLetterStore | null, logger: Logger) =>
          deadLetters === null ? null : new Redriver(lanes, deadLetters, logger),
        [TOKENS.lanes, TOKENS.deadLetters, TOKENS.logger],
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
  readonly deadLetters: DeadLetterStore | null;
  readonly redriver: Redriver | null;
  /** One runtime per lane: the state projections', then one per event log. */
  readonly lanes: readonly ProjectionRuntime[];
  /** The first lane's runtime: the one of the state projections, if there are any. */
  readonly runtime: ProjectionRuntime;
  readonly registry: GenerationRegistry | null;
  readonly logger: Logger;
}

export function compose(projections: readonly AnyProjection[], overrides: ConsumerOverrides = {}): Composition {
  const container = buildContainer(projections, overrides);
  return {
    config: container.get(TOKENS.config),
    consumer: container.get(TOKENS.consumer),
    store: container.get(TOKENS.store),
    dynamoDbStore: container.get(TOKENS.dynamoDbStore),
    deadLetters: container.get(TOKENS.deadLetters),
    redriver: container.get(TOKENS.redriver),
    lanes: container.get(TOKENS.lanes),
    runtime: container.get(TOKENS.lanes)[0] as ProjectionRuntime,
    registry: container.get(TOKENS.registry),
    logger: container.get(TOKENS.logger),
  };
}

/**
 * The fan-out routes: each declared fan-out with its publisher, plus one that publishes every event for each
 * of `STREAMFOLD_EVENTBRIDGE_BUS` and `STREAMFOLD_SQS_QUEUE_URL`. SDK clients are made only when needed.
 */
function fanOutRoutes(config: Config, overrides: ConsumerOverrides): FanOutRoute[] {
  const declared = [...(overrides.fanOut ?? [])];
  if (config.STREAMFOLD_EVENTBRIDGE_BUS !== undefined) declared.push(defineFanOut({ name: 'eventbridge', target: 'eventbridge' }));
  if (config.STREAMFOLD_SQS_QUEUE_URL !== undefined) declared.push(defineFanOut({ name: 'sqs', target: 'sqs' }));
  const eventBridge =
    overrides.eventBridgeClient ??
    once(async () => new (await import('@aws-sdk/client-eventbridge')).EventBridgeClient({ region: config.AWS_REGION }));
  const sqs = overrides.sqsClient ?? sqsClientOf(config);
  return declared.map((fanOut) => {
    if (fanOut.target === 'eventbridge') {
      const eventBusName = fanOut.destination ?? config.STREAMFOLD_EVENTBRIDGE_BUS;
      if (eventBusName === undefined) throw missingDestination(fanOut, 'STREAMFOLD_EVENTBRIDGE_BUS');
      return { fanOut, publisher: new EventBridgePublisher({ client: eventBridge, eventBusName }) };
    }
    const queueUrl = fanOut.destination ?? config.STREAMFOLD_SQS_QUEUE_URL;
    if (queueUrl === undefined) throw missingDestination(fanOut, 'STREAMFOLD_SQS_QUEUE_URL');
    return { fanOut, publisher: new SqsPublisher({ client: sqs, queueUrl }) };
  });
}

/** The SQS client, made on first use (and once): consumers that never send to SQS never load it. */
const sqsClientOf = (config: Config) =>
  once(async () => new (await import('@aws-sdk/client-sqs')).SQSClient({ region: config.AWS_REGION }));

function missingDestination(fanOut: FanOut, variable: string): StreamfoldError {
  return new StreamfoldError('CONFIGURATION', `fan-out ${fanOut.name} has no destination: give one, or set ${variable}`, {
    field: variable,
  });
}

export type { AnyProjection };
