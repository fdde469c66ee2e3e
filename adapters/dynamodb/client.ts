import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface DynamoDbClientOptions {
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
  /** How long to wait for a TCP connection: an endpoint that is not there fails in seconds, not minutes. */
  readonly connectionTimeoutMs?: number | undefined;
}

const LOOPBACK = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\/?$/;

/** Whether the endpoint is this machine (DynamoDB Local, as a rule). */
export const isLoopbackEndpoint = (endpoint: string | undefined): boolean => endpoint !== undefined && LOOPBACK.test(endpoint);

/**
 * The settings every DynamoDB (and DynamoDB Streams) client is made with. DynamoDB Local accepts any
 * credentials, so a loopback endpoint gets placeholder ones when the environment has none, and `npm start`
 * needs no AWS account.
 */
export function clientSettings(options: DynamoDbClientOptions = {}) {
  const local = isLoopbackEndpoint(options.endpoint);
  const hasCredentials = process.env.AWS_ACCESS_KEY_ID !== undefined || process.env.AWS_PROFILE !== undefined;
  return {
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'local' : undefined),
    ...(local && !hasCredentials ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    ...(options.connectionTimeoutMs === undefined ? {} : { requestHandler: { connectionTimeout: options.connectionTimeoutMs } }),
  };
}

/** One client per container, created at start-up. */
export function createDynamoDbClient(options: DynamoDbClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient(clientSettings(options));
}
