import { createStreamsClient } from '../../adapters/dynamodb/streams-client.js';
import { DynamoDbStreamSource } from '../../adapters/dynamodb/stream-source.js';
import { StreamfoldError } from '../errors.js';
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
  const client = createStreamsClient({
    endpoint: connection.endpoint,
    region: connection.config.AWS_REGION,
    connectionTimeoutMs: CONNECTION_TIMEOUT_MS,
  });
  return { streamArn: described.streamArn, source: new DynamoDbStreamSource(client) };
}
