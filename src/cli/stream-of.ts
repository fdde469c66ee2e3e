import type { DynamoDbStreamSource } from '../../adapters/dynamodb/stream-source.js';
import { StreamfoldError } from '../core/errors.js';
import { CONNECTION_TIMEOUT_MS, sourceTable, type Connection } from './connection.js';

/** A table's stream, ready to read with the connection's endpoint, region and credentials. */
export async function streamOf(connection: Connection, table: string): Promise<{ streamArn: string; source: DynamoDbStreamSource }> {
  const described = await sourceTable(connection, table);
  if (described === undefined) {
    throw new StreamfoldError('CONFIGURATION', `table ${table} cannot be described (no permission for dynamodb:DescribeTable), so its stream is unknown`);
  }
  if (described.streamArn === undefined) {
    throw new StreamfoldError(
      'CONFIGURATION',
      `table ${table} has no stream: turn one on with aws dynamodb update-table --table-name ${table} ` +
        `--stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES`,
    );
  }
  const { createStreamsClient, DynamoDbStreamSource } = await streamsAdapter();
  const client = createStreamsClient({
    endpoint: connection.endpoint,
    region: connection.config.AWS_REGION,
    connectionTimeoutMs: CONNECTION_TIMEOUT_MS,
  });
  return { streamArn: described.streamArn, source: new DynamoDbStreamSource(client) };
}

/**
 * The DynamoDB Streams client is an optional peer dependency: only `capture` and `run` read a stream, so
 * it is loaded when they do, and its absence is said plainly.
 */
async function streamsAdapter() {
  try {
    const [clients, sources] = await Promise.all([
      import('../../adapters/dynamodb/streams-client.js'),
      import('../../adapters/dynamodb/stream-source.js'),
    ]);
    return { createStreamsClient: clients.createStreamsClient, DynamoDbStreamSource: sources.DynamoDbStreamSource };
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new StreamfoldError(
      'CONFIGURATION',
      'reading a stream needs the DynamoDB Streams client: install it (npm install @aws-sdk/client-dynamodb-streams)',
      { cause: error },
    );
  }
}
