import * as z from 'zod';
import { StreamfoldError } from './errors.js';
import { DEFAULT_DEADLINE_MARGIN_MS } from './retry.js';

/** The tables streamfold uses when the configuration names none. */
export const DEFAULT_TABLE_NAMES = {
  readModels: 'streamfold-read-models',
  checkpoints: 'streamfold-checkpoints',
  parked: 'streamfold-parked',
} as const;

/** The consumer's settings, read from environment variables once per container. */
export const ConfigSchema = z.object({
  STREAMFOLD_CONSUMER: z.string().min(1).max(200).default('default'),
  /** The source table: records of any other table are refused (and parked) rather than folded. */
  STREAMFOLD_SOURCE_TABLE: z.string().min(3).max(255).optional(),
  STREAMFOLD_READ_MODEL_TABLE: z.string().min(3).max(255).default(DEFAULT_TABLE_NAMES.readModels),
  STREAMFOLD_CHECKPOINT_TABLE: z.string().min(3).max(255).default(DEFAULT_TABLE_NAMES.checkpoints),
  STREAMFOLD_PARKED_TABLE: z.string().min(3).max(255).default(DEFAULT_TABLE_NAMES.parked),
  /** Park poison records in this SQS queue instead of the parked-record table. */
  STREAMFOLD_PARKED_QUEUE_URL: z.url().optional(),
  /** `off` reports poison records as failed (Lambda retries them) instead of parking them. */
  STREAMFOLD_PARKING: z.enum(['on', 'off']).default('on'),
  /** Publish every change event to this EventBridge bus (name or ARN), or be the bus of fan-outs without one. */
  STREAMFOLD_EVENTBRIDGE_BUS: z.string().min(1).optional(),
  /** Publish every change event to this SQS queue (FIFO if it ends in `.fifo`), or be the queue of fan-outs without one. */
  STREAMFOLD_SQS_QUEUE_URL: z.url().optional(),
  /** Overrides the DynamoDB endpoint, for DynamoDB Local. The SDK also honours AWS_ENDPOINT_URL_DYNAMODB. */
  STREAMFOLD_DYNAMODB_ENDPOINT: z.url().optional(),
  AWS_REGION: z.string().min(1).optional(),
  /** Transactions in flight at once per invocation. */
  STREAMFOLD_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  /** Rounds of read, fold and write before a key is reported as failed. */
  STREAMFOLD_MAX_ROUNDS: z.coerce.number().int().min(1).max(50).default(8),
  /** Time kept before Lambda's deadline: no round starts later, and what is left is reported for a retry. */
  STREAMFOLD_DEADLINE_MARGIN_MS: z.coerce.number().int().min(0).max(600_000).default(DEFAULT_DEADLINE_MARGIN_MS),
  /** Set by Lambda: embedded-metric lines then go to stdout; elsewhere (CLI, tests) through the logger. */
  AWS_LAMBDA_FUNCTION_NAME: z.string().min(1).optional(),
  /** CloudWatch namespace of the embedded metrics written after each batch; `off` writes none. */
  STREAMFOLD_METRICS_NAMESPACE: z.string().min(1).max(255).default('streamfold'),
  /** Defaults to the application log level of Lambda's advanced logging controls, else `info`. */
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export type Config = z.infer<typeof ConfigSchema>;

export function loadConfig(environment: Record<string, string | undefined> = process.env): Config {
  // Lambda sets AWS_LAMBDA_LOG_LEVEL (TRACE ... FATAL) when the function has an application log level.
  const lambdaLevel = environment.AWS_LAMBDA_LOG_LEVEL?.toLowerCase();
  const parsed = ConfigSchema.safeParse(
    environment.LOG_LEVEL === undefined && lambdaLevel !== undefined ? { ...environment, LOG_LEVEL: lambdaLevel } : environment,
  );
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new StreamfoldError('CONFIGURATION', `invalid configuration: ${issue?.message ?? 'invalid'}`, {
    field: issue?.path.map(String).join('.'),
    cause: parsed.error,
  });
}

/** The streamfold tables a configuration names. */
export function tableNames(config: Config): { readModels: string; checkpoints: string; parked: string } {
  return {
    readModels: config.STREAMFOLD_READ_MODEL_TABLE,
    checkpoints: config.STREAMFOLD_CHECKPOINT_TABLE,
    parked: config.STREAMFOLD_PARKED_TABLE,
  };
}

/** The configuration that names these tables: the inverse of `tableNames`. */
export function tableConfig(tables: { readModels: string; checkpoints: string; parked: string }): Partial<Config> {
  return {
    STREAMFOLD_READ_MODEL_TABLE: tables.readModels,
    STREAMFOLD_CHECKPOINT_TABLE: tables.checkpoints,
    STREAMFOLD_PARKED_TABLE: tables.parked,
  };
}
