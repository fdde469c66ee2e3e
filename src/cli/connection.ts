import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../adapters/dynamodb/client.js';
import type { TableNames } from '../../adapters/dynamodb/layout.js';
import type { Config } from '../config.js';
import { loadConfig, tableNames } from '../config.js';

/** Options every command that talks to DynamoDB shares; flags win over environment variables. */
export interface ConnectionOptions {
  readonly endpoint?: string;
  readonly region?: string;
  readonly consumer?: string;
  readonly readModelTable?: string;
  readonly checkpointTable?: string;
  readonly parkedTable?: string;
}

export interface Connection {
  readonly client: DynamoDBClient;
  readonly config: Config;
  readonly tables: TableNames;
}

export function connect(options: ConnectionOptions): Connection {
  const environment = loadConfig();
  const config: Config = {
    ...environment,
    STREAMFOLD_DYNAMODB_ENDPOINT: options.endpoint ?? environment.STREAMFOLD_DYNAMODB_ENDPOINT,
    AWS_REGION: options.region ?? environment.AWS_REGION,
    STREAMFOLD_CONSUMER: options.consumer ?? environment.STREAMFOLD_CONSUMER,
    STREAMFOLD_READ_MODEL_TABLE: options.readModelTable ?? environment.STREAMFOLD_READ_MODEL_TABLE,
    STREAMFOLD_CHECKPOINT_TABLE: options.checkpointTable ?? environment.STREAMFOLD_CHECKPOINT_TABLE,
    STREAMFOLD_PARKED_TABLE: options.parkedTable ?? environment.STREAMFOLD_PARKED_TABLE,
  };
  return {
    client: createDynamoDbClient({ endpoint: config.STREAMFOLD_DYNAMODB_ENDPOINT, region: config.AWS_REGION }),
    config,
    tables: tableNames(config),
  };
}
