import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { createDynamoDbClient } from '../adapters/dynamodb/client.js';
import { ensureTable, createStreamfoldTables } from '../adapters/dynamodb/tables.js';
import { BUNDLE_TARGET, ESM_REQUIRE_BANNER, EXTERNAL_MODULES, writeHandlerEntry } from '../deploy/bundling.js';
import { startDynamoDbLocal } from '../demo/dynamodb-local.js';

/**
 * The bundle a user deploys, and its first answer: the bundle's size, then the time from a fresh process
 * importing the handler to its answer to a first small batch against DynamoDB Local (median of several
 * processes), beside the same for a minimal hand-written handler doing the same work. `npm run bench:cold`.
 */
const RUNS = 9;
const DIRECTORY = resolve('.streamfold/bench-bundle');
const run = promisify(execFile);

async function bundle(entry: string, name: string): Promise<{ file: string; bytes: number }> {
  const file = join(DIRECTORY, name, 'index.mjs');
  await build({
    entryPoints: [entry],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: BUNDLE_TARGET,
    minify: true,
    sourcemap: true,
    external: EXTERNAL_MODULES,
    banner: { js: ESM_REQUIRE_BANNER },
    mainFields: ['module', 'main'],
    logLevel: 'silent',
  });
  return { file, bytes: statSync(file).size };
}

function batch(runIndex: number): unknown {
  return {
    Records: Array.from({ length: 10 }, (_, index) => ({
      eventID: `cold-${runIndex}-${index}`,
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      eventSourceARN: 'arn:aws:dynamodb:local:000000000000:table/Orders/stream/2026-11-25T00:00:00.000',
      dynamodb: {
        Keys: { orderId: { S: `o-${runIndex}-${index}` } },
        NewImage: {
          orderId: { S: `o-${runIndex}-${index}` },
          customerId: { S: `c-${index % 3}` },
          status: { S: 'PLACED' },
          amount: { N: String(100 + index) },
        },
        SequenceNumber: String(100000000000000000000n + BigInt(index)),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    })),
  };
}

/** One fresh process: import the bundle, answer one batch; prints the milliseconds that took. */
async function firstAnswer(file: string, event: unknown, environment: Record<string, string>): Promise<number> {
  const script = `
    const started = performance.now();
    const { handler } = await import(${JSON.stringify(file)});
    const answer = await handler(${JSON.stringify(event)});
    if (answer.batchItemFailures.length > 0) throw new Error('failed: ' + JSON.stringify(answer));
    console.log(performance.now() - started);`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, ...environment, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    cwd: process.cwd(),
  });
  return Number(stdout.trim().split('\n').pop());
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

async function main(): Promise<void> {
  const streamfold = await bundle(writeHandlerEntry('projections/index.ts', join(DIRECTORY, 'entry')), 'streamfold');
  const minimal = await bundle('bench/baselines/minimal-handler.ts', 'minimal');
  const server = await startDynamoDbLocal();
  try {
    const client = createDynamoDbClient({ endpoint: server.endpoint });
    await createStreamfoldTables(client);
    await ensureTable(client, {
      TableName: 'minimal',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    });
    const common = {
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: server.endpoint,
      LOG_LEVEL: 'warn',
      STREAMFOLD_METRICS_NAMESPACE: 'off',
    };
    const times = { streamfold: [] as number[], minimal: [] as number[] };
    // Warm the server (and the disk cache) first, then alternate the two.
    await firstAnswer(streamfold.file, batch(-1), { ...common, STREAMFOLD_CONSUMER: 'warm' });
    await firstAnswer(minimal.file, batch(-1), common);
    for (let index = 0; index < RUNS; index += 1) {
      times.streamfold.push(await firstAnswer(streamfold.file, batch(index), { ...common, STREAMFOLD_CONSUMER: `run-${index}` }));
      times.minimal.push(await firstAnswer(minimal.file, batch(index), common));
    }
    const streamfoldMs = median(times.streamfold);
    const minimalMs = median(times.minimal);
    console.log(`bundle, minified (AWS SDK left to the Node.js 22 runtime): streamfold ${(streamfold.bytes / 1024).toFixed(1)} KB, minimal ${(minimal.bytes / 1024).toFixed(1)} KB`);
    console.log(
      `import and first answer to 10 records, median of ${RUNS} fresh processes: streamfold ${streamfoldMs.toFixed(0)} ms, ` +
        `minimal ${minimalMs.toFixed(0)} ms, ratio ${(streamfoldMs / minimalMs).toFixed(2)}`,
    );
  } finally {
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
