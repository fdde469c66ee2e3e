import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient, isLoopbackEndpoint } from '../../adapters/dynamodb/client.js';
import type { TableNames } from '../../adapters/dynamodb/layout.js';
import { checkTable, unreachableCause, type TableCheck } from '../../adapters/dynamodb/preflight.js';
import { createStreamfoldTables } from '../../adapters/dynamodb/tables.js';
import type { Config } from '../core/config.js';
import { loadConfig, tableNames } from '../core/config.js';
import { errorMessage, StreamfoldError } from '../core/errors.js';
import { UsageError } from './exit-codes.js';
import type { Output } from './output.js';

/** Options every command that talks to DynamoDB shares; flags win over environment variables. */
export interface ConnectionOptions {
  readonly endpoint?: string;
  readonly region?: string;
  readonly consumer?: string;
  readonly readModelTable?: string;
  readonly checkpointTable?: string;
  readonly parkedTable?: string;
  readonly sourceTable?: string;
}

export interface Connection {
  readonly client: DynamoDBClient;
  readonly config: Config;
  readonly tables: TableNames;
  /** The endpoint, with its scheme, when one was given. */
  readonly endpoint: string | undefined;
}

/** A TCP connection to DynamoDB takes milliseconds; an endpoint that is not there fails after this. */
export const CONNECTION_TIMEOUT_MS = 3_000;

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** `localhost:8000` is taken for `http://localhost:8000`; a host of the network without a scheme gets https. */
export function normaliseEndpoint(endpoint: string): string {
  const trimmed = endpoint.trim();
  const withScheme = SCHEME.test(trimmed) ? trimmed : `${isLoopbackEndpoint(`http://${trimmed}`) ? 'http' : 'https'}://${trimmed}`;
  try {
    const url = new URL(withScheme);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported scheme ${url.protocol}`);
  } catch (error) {
    throw new UsageError(`--endpoint ${endpoint} is not a URL (${errorMessage(error)}); for example http://localhost:8000`, '--endpoint');
  }
  return withScheme.replace(/\/$/, '');
}

export function connect(options: ConnectionOptions): Connection {
  const environment = loadConfig();
  const given = options.endpoint ?? environment.STREAMFOLD_DYNAMODB_ENDPOINT;
  const endpoint = given === undefined ? undefined : normaliseEndpoint(given);
  const config: Config = {
    ...environment,
    STREAMFOLD_DYNAMODB_ENDPOINT: endpoint,
    AWS_REGION: options.region ?? environment.AWS_REGION,
    STREAMFOLD_CONSUMER: options.consumer ?? environment.STREAMFOLD_CONSUMER,
    STREAMFOLD_READ_MODEL_TABLE: options.readModelTable ?? environment.STREAMFOLD_READ_MODEL_TABLE,
    STREAMFOLD_CHECKPOINT_TABLE: options.checkpointTable ?? environment.STREAMFOLD_CHECKPOINT_TABLE,
    STREAMFOLD_PARKED_TABLE: options.parkedTable ?? environment.STREAMFOLD_PARKED_TABLE,
    STREAMFOLD_SOURCE_TABLE: options.sourceTable ?? environment.STREAMFOLD_SOURCE_TABLE,
  };
  return {
    client: createDynamoDbClient({ endpoint, region: config.AWS_REGION, connectionTimeoutMs: CONNECTION_TIMEOUT_MS }),
    config,
    tables: tableNames(config),
    endpoint,
  };
}

/**
 * Where the commands' requests go, in words: DynamoDB Local keeps one database per access key and region,
 * so a table made under another region or key is invisible, and saying which are used explains it.
 */
export async function describeConnection(connection: Connection): Promise<string> {
  const region = await connection.client.config.region().catch(() => '(none: give --region)');
  let key: string;
  try {
    key = (await connection.client.config.credentials()).accessKeyId;
  } catch (error) {
    throw new StreamfoldError('CONFIGURATION', `no AWS credentials for ${connection.endpoint ?? 'DynamoDB'}: ${errorMessage(error)}`);
  }
  const where = connection.endpoint ?? 'AWS';
  return `DynamoDB at ${where}, region ${region}, access key ${key}`;
}

/** Says where requests go when an endpoint was given (on AWS the region is in the caller's own setup). */
export async function announce(connection: Connection, output: Output): Promise<void> {
  if (connection.endpoint !== undefined) output.notice(`streamfold: ${await describeConnection(connection)}`);
}

export type StreamfoldTable = keyof TableNames;

/**
 * Checks, before any work, that DynamoDB answers and that the streamfold tables a command needs exist;
 * with `create`, makes them. A missing table is named with the fix; an unreachable endpoint is one line.
 */
export async function prepareTables(
  connection: Connection,
  needed: readonly StreamfoldTable[],
  create: boolean,
): Promise<void> {
  if (create) {
    await reachable(connection, () => createStreamfoldTables(connection.client, connection.tables));
    return;
  }
  const checks = await Promise.all(needed.map((table) => reachable(connection, () => checkTable(connection.client, connection.tables[table]))));
  const missing = checks.filter((check) => check.state === 'missing').map((check) => check.name);
  if (missing.length === 0) return;
  const names = missing.length === 1 ? `table ${missing[0]} does not exist` : `tables ${missing.join(', ')} do not exist`;
  throw new StreamfoldError(
    'CONFIGURATION',
    `${names} (${await describeConnection(connection)}): run the command with --create-tables, or create ${missing.length === 1 ? 'it' : 'them'} ` +
      `(see "Table layouts" in the README); to use other names, give --read-model-table, --checkpoint-table, --parked-table`,
  );
}

/** The source table a command reads: it must exist; its key and stream are answered. */
export async function sourceTable(
  connection: Connection,
  name: string,
  option = '--table',
): Promise<Extract<TableCheck, { state: 'present' }> | undefined> {
  const check = await reachable(connection, () => checkTable(connection.client, name));
  if (check.state === 'present') return check;
  if (check.state === 'unknown') return undefined;
  const local = isLoopbackEndpoint(connection.endpoint)
    ? '; DynamoDB Local keeps a separate database per access key and region, so check those match the ones the table was made with'
    : '';
  throw new StreamfoldError('CONFIGURATION', `${option} ${name}: no such table (${await describeConnection(connection)}); check the name${local}`);
}

/** Runs a first request; a DynamoDB that cannot be reached becomes one line naming the endpoint. */
export async function reachable<Result>(connection: Connection, request: () => Promise<Result>): Promise<Result> {
  try {
    return await request();
  } catch (error) {
    const cause = unreachableCause(error);
    if (cause === undefined) throw error;
    const where = connection.endpoint ?? `DynamoDB in region ${await connection.client.config.region().catch(() => '(none)')}`;
    const hint = isLoopbackEndpoint(connection.endpoint) ? ': is DynamoDB Local running, on that port?' : '';
    throw new StreamfoldError('CONFIGURATION', `cannot reach ${where} (${cause})${hint}`, { cause: error });
  }
}

/**
 * The SDK's own words for a missing region or credentials ("Region is missing", "Could not load credentials
 * from any providers") name neither the option nor the variable that fixes them, whichever client met them
 * first (DynamoDB, its Streams, S3, Step Functions).
 */
export function missingSetup(error: unknown): string | undefined {
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  const local = '; for DynamoDB Local, give --endpoint (any region and access key do there)';
  if (message === 'Region is missing') return `no AWS region: give --region, or set AWS_REGION or a profile's region (AWS_PROFILE)${local}`;
  if (name === 'CredentialsProviderError') {
    return `no AWS credentials found (${String(message)}): set AWS_PROFILE (after \`aws sso login\` or \`aws configure\`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY${local}`;
  }
  return undefined;
}
