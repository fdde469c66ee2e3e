import { DescribeTableCommand, ResourceNotFoundException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** A table as the CLI needs to know it before it starts: whether it is there, its key, its stream. */
export type TableCheck =
  | {
      readonly name: string;
      readonly state: 'present';
      /** The key attributes, partition key first, with their types. */
      readonly keys: readonly { readonly name: string; readonly type: 'S' | 'N' | 'B' }[];
      readonly tableArn: string | undefined;
      readonly streamArn: string | undefined;
    }
  | { readonly name: string; readonly state: 'missing' }
  /** The caller may not describe tables (IAM): whether it exists is not known, and nothing is assumed. */
  | { readonly name: string; readonly state: 'unknown' };

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'NetworkingError']);

/**
 * Why DynamoDB could not be reached at all (refused, unknown host, timed out), or what answered was not
 * DynamoDB (an HTTP status with no DynamoDB error in it); `undefined` when DynamoDB itself answered.
 */
export function unreachableCause(error: unknown): string | undefined {
  const failure = error as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
    $response?: { statusCode?: unknown };
  } | null;
  if (failure === null || typeof failure !== 'object') return undefined;
  if (failure.$response !== undefined && /Deserialization error/.test(String(failure.message))) {
    return `it answered HTTP ${String(failure.$response.statusCode)} with a body that is not DynamoDB's`;
  }
  const status = failure.$metadata?.httpStatusCode;
  if (typeof status === 'number') return failure.name === 'UnknownError' ? `it answered HTTP ${status}, not as DynamoDB does` : undefined;
  const code = typeof failure.code === 'string' ? failure.code : undefined;
  const name = typeof failure.name === 'string' ? failure.name : undefined;
  if ((code !== undefined && NETWORK_CODES.has(code)) || (name !== undefined && NETWORK_NAMES.has(name))) {
    return typeof failure.message === 'string' && failure.message !== '' ? failure.message : (code ?? name);
  }
  return undefined;
}

/** Whether the error says the caller has no permission (so a check is skipped rather than failed). */
const isAccessDenied = (error: unknown): boolean =>
  /AccessDenied/.test(String((error as { name?: unknown } | null)?.name ?? ''));

/** Describes a table. Errors other than "not found" and "not allowed" are the caller's (unreachable, say). */
export async function checkTable(client: DynamoDBClient, name: string): Promise<TableCheck> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const types = new Map((Table?.AttributeDefinitions ?? []).map((definition) => [definition.AttributeName, definition.AttributeType]));
    const keys = ['HASH', 'RANGE'].flatMap((kind) => {
      const attribute = Table?.KeySchema?.find((element) => element.KeyType === kind)?.AttributeName;
      const type = attribute === undefined ? undefined : types.get(attribute);
      return attribute === undefined || type === undefined ? [] : [{ name: attribute, type }];
    });
    const streamArn = Table?.StreamSpecification?.StreamEnabled === false ? undefined : Table?.LatestStreamArn;
    return { name, state: 'present', keys, tableArn: Table?.TableArn, streamArn };
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return { name, state: 'missing' };
    if (isAccessDenied(error)) return { name, state: 'unknown' };
    throw error;
  }
}
