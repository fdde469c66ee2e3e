import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { clientSettings, type DynamoDbClientOptions } from './client.js';

/**
 * A DynamoDB Streams client made like the DynamoDB client (same endpoint, region and credentials). Kept in
 * its own module so that the Lambda bundle, which never reads a stream itself, does not load the package.
 */
export function createStreamsClient(options: DynamoDbClientOptions = {}): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient(clientSettings(options));
}
