import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { transform } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { command, installProject, packProject, typescript, type CommandResult } from '../support/packing.js';
import { freshTables, localClient, localEndpoint, uniqueName } from '../support/local-dynamodb.js';
import { orderRecord, type TestOrder } from '../support/records.js';

// The package as users get it: `npm pack` (its prepack builds dist), the tarball installed offline into a
// fresh ES module project and a fresh CommonJS project, used through its entry points, its CLI and its
// CDK construct only.

/** A user's projection module, typed against the installed package. */
const USER_PROJECTIONS = `import * as z from 'zod';
import { defineProjection, exactInteger } from 'streamfold';

const Order = z.object({ orderId: z.string(), customerId: z.string(), status: z.string(), amount: exactInteger });
export type Order = z.infer<typeof Order>;

export const customerTotals = defineProjection({
  name: 'customer-totals',
  version: 1,
  kind: 'sum',
  schema: Order,
  contribute: (order) => ({ [order.customerId]: { orders: 1, amount: order.amount } }),
});

export const orderStatus = defineProjection({
  name: 'order-status',
  version: 1,
  kind: 'view',
  schema: Order,
  evolve: (_row: { status: string } | undefined, event) => (event.kind === 'remove' ? undefined : { status: event.newImage!.status }),
});

export default [customerTotals, orderStatus];
`;

/** The user's Lambda entry and a projection test, using the other entry points. */
const USER_HANDLER = `import { createHandler, type LambdaContext } from 'streamfold/lambda';
import { projectionTest, put } from 'streamfold/testing';
import { createStreamfoldTables } from 'streamfold/adapters/dynamodb';
import projections, { customerTotals } from './projections.js';

export const handler = createHandler({ projections });
export const context: LambdaContext = { awsRequestId: 'r-1', getRemainingTimeInMillis: () => 1000 };
export const check = () =>
  projectionTest(customerTotals, { key: ['orderId'] })
    .given([put({ orderId: 'o-1', customerId: 'c-1', status: 'NEW', amount: 5 })])
    .expectRows([{ key: 'c-1', value: { orders: 1, amount: 5 } }]);
export { createStreamfoldTables };
`;

const CDK_APP = `import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { StreamfoldConsumer } from 'streamfold/cdk';

const app = new App({ outdir: 'cdk.out' });
const stack = new Stack(app, 'Orders');
const orders = new dynamodb.Table(stack, 'Orders', {
  partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
  stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
});
const consumer = new StreamfoldConsumer(stack, 'Consumer', {
  sourceTable: orders,
  projections: join(__dirname, '../../projections.ts'),
  consumerName: 'orders',
  retryAttempts: 5,
});
app.synth();
console.log(consumer.consumerName);
`;

const STRICT = { strict: true, noUncheckedIndexedAccess: true, skipLibCheck: false, types: ['node'] };

const ORDERS: readonly TestOrder[] = [
  { orderId: 'o-1', customerId: 'c-1', status: 'PLACED', amount: 1250 },
  { orderId: 'o-2', customerId: 'c-1', status: 'PLACED', amount: 700 },
  { orderId: 'o-3', customerId: 'c-2', status: 'PLACED', amount: 99 },
  { orderId: 'o-4', customerId: 'c-2', status: 'PLACED', amount: 12345678901234567890n },
];
const MOVED: TestOrder = { ...ORDERS[1]!, customerId: 'c-2', status: 'SHIPPED' };
/** Four inserts, o-2 moved to c-2, o-3 removed: the records, and what the table holds after them. */
const RECORDS = [
  ...ORDERS.map((order, index) => orderRecord(`10000000000000000000${index + 1}`, order)),
  orderRecord('100000000000000000005', MOVED, ORDERS[1]),
  orderRecord('100000000000000000006', undefined, ORDERS[2]),
];
const FINAL = [ORDERS[0]!, MOVED, ORDERS[3]!];

/** The totals a fold of the final orders gives, as `dump` prints them. */
function expectedTotals(): string[] {
  const totals = new Map<string, { orders: number; amount: bigint }>();
  for (const order of FINAL) {
    const total = totals.get(order.customerId) ?? { orders: 0, amount: 0n };
    totals.set(order.customerId, { orders: total.orders + 1, amount: total.amount + BigInt(order.amount) });
  }
  return [...totals]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, total]) => `{"key":"${key}","value":{"amount":${total.amount},"orders":${total.orders}}}`);
}

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, any>;
}

/** The CommonJS app's synthesised template: its resources, the consumer's function and that function's bundle. */
function synthesisedApp(project: string) {
  const template = JSON.parse(readFileSync(join(project, 'cdk.out/Orders.template.json'), 'utf8')) as { Resources: Record<string, Resource> };
  const resources = Object.values(template.Resources);
  const fn = resources.find((resource) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.Runtime === 'nodejs22.x');
  if (fn === undefined) throw new Error('no Node.js 22 function in the template');
  const bundle = join(project, 'cdk.out', `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`, 'index.mjs');
  return { resources, fn, bundle };
}

const write = (path: string, text: string): void => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
};

const succeeded = (result: CommandResult): CommandResult => {
  expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
  return result;
};

let work: string;
let tarball: string;
let esm: string;
let cjs: string;
/** The two slow steps, run side by side: tsc on the ES module project; tsc and `cdk synth` on the CommonJS app. */
let esmTypeCheck: CommandResult;
let cjsBuild: { typeCheck: CommandResult; synth: CommandResult | undefined };
/** tsc on the CommonJS project's handler alone, as `cdk init` compiles it: module commonjs, no skipLibCheck. */
let cjsLibraryTypeCheck: CommandResult;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'streamfold-package-'));
  tarball = await packProject(work);
  esm = join(work, 'esm');
  cjs = join(work, 'cjs');
  const sdk = [{ name: '@aws-sdk/client-dynamodb' }, { name: '@aws-sdk/client-eventbridge' }, { name: '@aws-sdk/client-sqs' }, { name: '@types/node' }];
  await Promise.all([
    // The oldest zod the peer range allows, in the ES module project; the newest tested, in the CommonJS one.
    installProject(esm, { tarball, type: 'module', wanted: [{ name: 'zod', lockPath: 'node_modules/zod-oldest-supported' }, ...sdk] }),
    installProject(cjs, {
      tarball,
      type: 'commonjs',
      wanted: [{ name: 'zod' }, ...sdk, { name: 'aws-cdk-lib' }, { name: 'constructs' }, { name: 'esbuild' }],
    }),
  ]);

  write(join(esm, 'src/projections.ts'), USER_PROJECTIONS);
  write(join(esm, 'src/handler.ts'), USER_HANDLER);
  write(join(esm, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', outDir: 'build', ...STRICT }, include: ['src'] }));
  write(join(cjs, 'projections.ts'), USER_PROJECTIONS);
  write(join(cjs, 'bin/app.ts'), CDK_APP);
  // As `cdk init` makes CommonJS apps: module commonjs, so TypeScript resolves `streamfold/cdk` without exports.
  write(
    join(cjs, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'commonjs', esModuleInterop: true, outDir: 'build', ...STRICT, skipLibCheck: true },
      include: ['bin', 'projections.ts'],
    }),
  );
  // The same app's handler and projection test with every declaration checked: nothing the package's types
  // import may be a dependency whose types only an `exports`-aware resolution finds.
  write(join(cjs, 'handler.ts'), USER_HANDLER);
  write(
    join(cjs, 'tsconfig.library.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'commonjs', esModuleInterop: true, noEmit: true, ...STRICT },
      include: ['handler.ts', 'projections.ts'],
    }),
  );
  [esmTypeCheck, cjsBuild, cjsLibraryTypeCheck] = await Promise.all([
    typescript(esm, ['-p', '.']),
    typescript(cjs, ['-p', '.']).then(async (typeCheck) => ({
      typeCheck,
      synth: typeCheck.code === 0 ? await command(process.execPath, ['build/bin/app.js'], { cwd: cjs }) : undefined,
    })),
    typescript(cjs, ['-p', 'tsconfig.library.json']),
  ]);
}, 900_000);

// The two projects hold a few hundred megabytes (aws-cdk-lib among them).
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  it('ships the library only, with source maps that carry their sources', async () => {
    const files = succeeded(await command('tar', ['-tzf', tarball], { cwd: work })).stdout.trim().split('\n');
    expect(files.filter((file) => !/^package\/(dist\/|bin\/streamfold\.js$|README\.md$|package\.json$)/.test(file))).toEqual([]);
    // No example projections, demo workloads and their truths, DynamoDB Local starter, sample CDK app or tests.
    const notLibrary = /\/(projections|demo|test)\/|sample-app|workload|truth|dynamodb-local|source-table|src\/local\/main/;
    expect(files.filter((file) => notLibrary.test(file))).toEqual([]);
    for (const entry of ['src/index', 'src/lambda/index', 'src/testing/index', 'adapters/dynamodb/index', 'deploy/index']) {
      expect(files).toEqual(expect.arrayContaining([`package/dist/${entry}.js`, `package/dist/cjs/${entry}.js`, `package/dist/cjs/${entry}.d.ts`]));
    }
    const extracted = join(work, 'extracted');
    mkdirSync(extracted);
    succeeded(await command('tar', ['-xzf', tarball, '-C', extracted], { cwd: work }));
    const maps = files.filter((file) => file.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(100);
    for (const map of maps) {
      const parsed = JSON.parse(readFileSync(join(extracted, map), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
      expect(parsed.sourcesContent?.length, map).toBe(parsed.sources.length);
    }
  });

  it('loads every entry point by import from an ES module and by require from CommonJS', async () => {
    const entries = ['streamfold', 'streamfold/lambda', 'streamfold/testing', 'streamfold/adapters/dynamodb'];
    const probe = (load: string) =>
      `const names = {}; for (const entry of ${JSON.stringify([...entries, 'streamfold/cdk'])}) names[entry] = Object.keys(${load}).sort(); console.log(JSON.stringify(names));`;
    const imported = succeeded(await command(process.execPath, ['--input-type=module', '-e', probe('await import(entry)')], { cwd: cjs }));
    const required = succeeded(await command(process.execPath, ['-e', probe('require(entry)')], { cwd: cjs }));
    const byImport = JSON.parse(imported.stdout) as Record<string, string[]>;
    expect(JSON.parse(required.stdout)).toEqual(byImport);
    expect(byImport.streamfold).toEqual(expect.arrayContaining(['defineProjection', 'defineEventLog', 'exactInteger', 'isStreamfoldError']));
    expect(byImport['streamfold/lambda']).toEqual(expect.arrayContaining(['createHandler']));
    expect(byImport['streamfold/cdk']).toEqual(expect.arrayContaining(['StreamfoldConsumer']));
    // The CommonJS copy is a copy: the same names, and the ES modules where the Lambda function is bundled from.
    const cdkFile = succeeded(await command(process.execPath, ['-p', "require.resolve('streamfold/cdk')"], { cwd: cjs }));
    expect(cdkFile.stdout).toMatch(/dist\/cjs\/deploy\/index\.js/);
    succeeded(await command(process.execPath, ['--input-type=module', '-e', `await import('streamfold'); await import('streamfold/lambda');`], { cwd: esm }));
  });

  it('type-checks a user projection, handler and projection test with tsc --strict, on the oldest zod it supports', async () => {
    const zod = JSON.parse(readFileSync(join(esm, 'node_modules/zod/package.json'), 'utf8')) as { version: string };
    expect(zod.version).toBe('4.0.0');
    succeeded(esmTypeCheck);
    // And the projection test kit runs on it.
    succeeded(await command(process.execPath, ['--input-type=module', '-e', "await (await import('./build/handler.js')).check();"], { cwd: esm }));
  });

  it('type-checks the handler in a CommonJS project with module commonjs and skipLibCheck off', () => {
    succeeded(cjsLibraryTypeCheck);
  });

  it('runs the packed CLI: --version, replay and dump on DynamoDB Local, and asks for tsx to load TypeScript', async () => {
    const cli = (args: string[]) => command(join(esm, 'node_modules/.bin/streamfold'), args, { cwd: esm });
    const version = succeeded(await cli(['--version']));
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')).version);

    const projections = join(esm, 'projections.mjs');
    write(projections, (await transform(USER_PROJECTIONS, { loader: 'ts', format: 'esm' })).code);
    const input = join(esm, 'records.json');
    write(input, JSON.stringify({ Records: RECORDS }));
    const connection = ['--endpoint', localEndpoint(), '--read-model-table', uniqueName('rm'), '--checkpoint-table', uniqueName('cp'), '--parked-table', uniqueName('pk')];
    const replayed = succeeded(await cli(['replay', '--projections', projections, '--input', input, '--create-tables', ...connection]));
    expect(replayed.stdout).toMatch(new RegExp(`replayed ${RECORDS.length} records`));
    expect(replayed.stdout).toMatch(/failed\s+0/);
    const dumped = succeeded(await cli(['dump', 'customer-totals', '--projections', projections, ...connection]));
    expect(dumped.stdout.trim().split('\n')).toEqual(expectedTotals());

    // tsx is an optional peer dependency: without it a TypeScript module gets a clear answer.
    const typescriptModule = await cli(['dump', 'customer-totals', '--projections', join(esm, 'src/projections.ts'), ...connection]);
    expect(typescriptModule.code).toBe(1);
    expect(typescriptModule.stderr).toMatch(/is TypeScript, and loading it needs tsx: install it \(npm install --save-dev tsx\)/);
  });

  it('synthesises a stack with StreamfoldConsumer from a CommonJS CDK app, bundling the function under 400 KB', async () => {
    succeeded(cjsBuild.typeCheck);
    expect(cjsBuild.synth).toBeDefined();
    expect(succeeded(cjsBuild.synth!).stdout.trim().split('\n').pop()).toBe('orders');

    const { resources, fn, bundle } = synthesisedApp(cjs);
    expect(fn.Properties.Environment.Variables.STREAMFOLD_CONSUMER).toBe('orders');
    expect(resources.find((resource) => resource.Type === 'AWS::Lambda::EventSourceMapping')?.Properties.MaximumRetryAttempts).toBe(5);
    expect(resources.filter((resource) => resource.Type === 'AWS::CloudWatch::Dashboard')).toHaveLength(1);
    // The generated entry is not among the app's sources.
    expect(readdirSync(join(cjs, 'node_modules/.cache/streamfold')).some((name) => name.startsWith('handler-'))).toBe(true);
    expect(statSync(bundle).size).toBeLessThan(400 * 1024);
  });

  it('the bundled function answers a batch on DynamoDB Local, its metric lines on stdout at LOG_LEVEL=warn', async () => {
    const { bundle } = synthesisedApp(cjs);
    const tables = await freshTables(localClient());
    // As in Lambda: the SDK is not in the bundle but beside it (the CommonJS project's node_modules here).
    const script = `const { handler } = await import(${JSON.stringify(bundle)});
      const answer = await handler(${JSON.stringify({ Records: RECORDS })}, { awsRequestId: 'request-1', getRemainingTimeInMillis: () => 60000 });
      process.stdout.write(JSON.stringify({ answer }) + '\\n');`;
    const result = succeeded(
      await command(process.execPath, ['--input-type=module', '-e', script], {
        cwd: cjs,
        env: {
          AWS_LAMBDA_FUNCTION_NAME: 'orders-consumer',
          AWS_REGION: 'local',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          AWS_ENDPOINT_URL_DYNAMODB: localEndpoint(),
          STREAMFOLD_CONSUMER: 'orders',
          STREAMFOLD_READ_MODEL_TABLE: tables.readModels,
          STREAMFOLD_CHECKPOINT_TABLE: tables.checkpoints,
          STREAMFOLD_PARKED_TABLE: tables.parked,
          LOG_LEVEL: 'warn',
        },
      }),
    );
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    expect(lines.find((line) => line.answer !== undefined)?.answer).toEqual({ batchItemFailures: [] });
    const metrics = lines.filter((line) => line._aws !== undefined);
    expect(metrics.map((line) => line.Projection)).toEqual(['customer-totals', 'order-status', undefined]);
    expect(metrics.every((line) => line.Consumer === 'orders')).toBe(true);
    expect(metrics[0]).toMatchObject({ RecordsApplied: RECORDS.length });
  });
});
