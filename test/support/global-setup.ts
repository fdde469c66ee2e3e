import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal, type LocalDynamoDb } from '../../demo/dynamodb-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
  }
}

let server: LocalDynamoDb | undefined;

/** One DynamoDB Local for the whole run, on a free loopback port; each test uses tables of its own. */
export async function setup(project: TestProject): Promise<void> {
  server = await startDynamoDbLocal();
  project.provide('dynamoDbEndpoint', server.endpoint);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}
