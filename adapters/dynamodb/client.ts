import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface DynamoDbClientOptions {
  readonly endpoint?: string | undefined;
  readonly region?: string | undefined;
}

const LOOPBACK = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?\/?$/;

/**
 * One client per container, created at start-up. DynamoDB Local accepts any credentials, so a loopback
 * endpoint gets placeholder ones when the environment has none, and `npm start` needs no AWS account.
 */
export function createDynamoDbClient(options: DynamoDbClientOptions = {}): DynamoDBClient {
  const local = options.endpoint !== undefined && LOOPBACK.test(options.endpoint);
  const hasCredentials = process.env.AWS_ACCESS_KEY_ID !== undefined || process.env.AWS_PROFILE !== undefined;
  return new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region ?? process.env.AWS_REGION ?? (local ? 'local' : undefined),
    ...(local && !hasCredentials ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}
