import { Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { StreamConsumer } from '../../src/consumer/consumer.js';
import { isStreamfoldError } from '../../src/core/errors.js';
import { createHandler } from '../../src/lambda/handler.js';
import { createLogger } from '../../src/core/logging.js';
import { MemoryDeadLetterStore } from '../../src/testing/memory-dead-letters.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import examples from '../../projections/index.js';
import { orderRecord } from '../support/records.js';

const order = { orderId: 'o-1', customerId: 'c-1', status: 'PLACED', amount: 5 };

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

const lambdaContext = (awsRequestId: string, remainingMs: number) => ({ awsRequestId, getRemainingTimeInMillis: () => remainingMs });

/** A handler on the in-memory store and dead-letter store, quiet unless told otherwise. */
const memoryHandler = (options: Partial<Parameters<typeof createHandler>[0]> = {}) =>
  createHandler({
    projections: examples,
    store: new MemoryReadModelStore(),
    deadLetters: new MemoryDeadLetterStore(),
    environment: { LOG_LEVEL: 'silent' },
    ...options,
  });

describe('createHandler', () => {
  it('answers Lambda with batchItemFailures only', async () => {
    const handler = memoryHandler();
    const response = await handler({ Records: [orderRecord('100000000000000000001', order)] });
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('fails the invocation when the event is not a stream batch', async () => {
    const handler = memoryHandler();
    await expect(handler({ records: [] })).rejects.toThrow(/not a DynamoDB stream batch/);
  });

  it('logs a failing record with its projection, key, sequence and eventID', async () => {
    const { logger, lines } = capturedLogger();
    const handler = memoryHandler({ deadLetters: null, environment: {}, logger });
    const bad = orderRecord('100000000000000000009', order);
    (bad.dynamodb as { NewImage: Record<string, unknown> }).NewImage.status = { N: '3' };
    const response = await handler({ Records: [bad] });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '100000000000000000009' }]);
    await new Promise((resolve) => setImmediate(resolve));
    const failure = lines.find((line) => line.level === 'ERROR');
    expect(failure).toMatchObject({
      projection: 'customer-totals',
      key: '{"orderId":{"S":"o-1"}}',
      sequence: '100000000000000000009',
      eventID: 'evt-100000000000000000009',
      code: 'SCHEMA_MISMATCH',
    });
    expect(JSON.stringify(lines)).not.toContain('PLACED'); // images are not logged
    expect(lines.find((line) => line.msg === 'batch processed')).toMatchObject({ stats: { records: 1, failed: 1 } });
  });
});

describe('logs for Lambda', () => {
  it('writes the level as text and an RFC 3339 timestamp, which Lambda\'s log-level filtering reads', async () => {
    const { logger, lines } = capturedLogger();
    await memoryHandler({ environment: {}, logger })({ Records: [orderRecord('100000000000000000001', order)] });
    await new Promise((resolve) => setImmediate(resolve));
    const processed = lines.find((line) => line.msg === 'batch processed');
    expect(processed?.level).toBe('INFO');
    expect(new Date(String(processed?.timestamp)).toISOString()).toBe(processed?.timestamp);
  });

  it('carries the request id on every line of an invocation, and the cold start on the first only', async () => {
    const { logger, lines } = capturedLogger();
    const withLogger = memoryHandler({ environment: {}, logger });
    const batch = (sequence: string) => ({ Records: [orderRecord(sequence, order)] });
    await withLogger(batch('100000000000000000001'), lambdaContext('request-1', 5_000));
    await withLogger(batch('100000000000000000002'), lambdaContext('request-2', 5_000));
    await new Promise((resolve) => setImmediate(resolve));
    const processed = lines.filter((line) => line.msg === 'batch processed');
    expect(processed.map((line) => [line.requestId, line.coldStart])).toEqual([
      ['request-1', true],
      ['request-2', false],
    ]);
  });

  it("hands the consumer Lambda's remaining time and request id", async () => {
    const process = vi.spyOn(StreamConsumer.prototype, 'process');
    try {
      let remaining = 9_000;
      const context = { awsRequestId: 'request-9', getRemainingTimeInMillis: () => remaining };
      await memoryHandler()({ Records: [orderRecord('100000000000000000001', order)] }, context);
      const invocation = process.mock.calls[0]?.[1];
      expect(invocation?.requestId).toBe('request-9');
      remaining = 1_234;
      expect(invocation?.remainingTimeMs?.()).toBe(1_234);
    } finally {
      process.mockRestore();
    }
  });
});

describe('metrics', () => {
  /** A batch of three records: one applied, one duplicate of it, one that fails its schema. */
  function batchWithOneBadRecord() {
    const bad = orderRecord('100000000000000000003', { ...order, orderId: 'o-3' });
    (bad.dynamodb as { NewImage: Record<string, unknown> }).NewImage.amount = { S: 'x' };
    return { Records: [orderRecord('100000000000000000001', order), orderRecord('100000000000000000001', order), bad] };
  }

  function capturedMetrics() {
    const documents: Record<string, any>[] = [];
    return { documents, writeMetric: (document: Record<string, unknown>) => documents.push(document) };
  }

  it('writes one embedded-metric line per projection, per consumer and projection, and one for the consumer', async () => {
    const { documents, writeMetric } = capturedMetrics();
    await memoryHandler({ environment: { STREAMFOLD_CONSUMER: 'orders' }, writeMetric })(batchWithOneBadRecord());
    expect(documents.map((line) => line.Projection)).toEqual(['customer-totals', 'order-status-counts', 'order-view', undefined]);
    const totals = documents[0]!;
    const metrics = [
      { Name: 'RecordsApplied', Unit: 'Count' },
      { Name: 'RecordsSkipped', Unit: 'Count' },
      { Name: 'RecordsParked', Unit: 'Count' },
      { Name: 'RecordsFailed', Unit: 'Count' },
      { Name: 'LagMilliseconds', Unit: 'Milliseconds' },
    ];
    expect(totals._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'streamfold', Dimensions: [['Consumer', 'Projection']], Metrics: metrics },
      { Namespace: 'streamfold', Dimensions: [['Consumer']], Metrics: metrics.filter((metric) => metric.Name !== 'RecordsFailed') },
    ]);
    expect(totals).toMatchObject({ Consumer: 'orders', Projection: 'customer-totals', RecordsApplied: 1, RecordsParked: 1, RecordsFailed: 0 });
    expect(totals.LagMilliseconds).toBeGreaterThan(0);
    expect(documents[3]).toEqual({
      _aws: {
        Timestamp: expect.any(Number),
        CloudWatchMetrics: [
          {
            Namespace: 'streamfold',
            Dimensions: [['Consumer']],
            Metrics: [
              { Name: 'RecordsFailed', Unit: 'Count' },
              { Name: 'RecordsParked', Unit: 'Count' },
            ],
          },
        ],
      },
      Consumer: 'orders',
      RecordsFailed: 0,
      RecordsParked: 0,
    });
  });

  it('counts a failed record once for the consumer, however many projections it failed', async () => {
    const { documents, writeMetric } = capturedMetrics();
    const report = await memoryHandler({ deadLetters: null, environment: {}, writeMetric }).invoke(batchWithOneBadRecord());
    expect(report.stats.failed).toBe(1);
    const perProjection = documents.filter((line) => line.Projection !== undefined);
    expect(perProjection.map((line) => line.RecordsFailed)).toEqual([1, 1, 1]);
    expect(documents.find((line) => line.Projection === undefined)).toMatchObject({ RecordsFailed: 1 });
  });

  it.each(['warn', 'silent'])('in Lambda, writes the lines to stdout at LOG_LEVEL=%s', async (level) => {
    const written: string[] = [];
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const handler = memoryHandler({ environment: { LOG_LEVEL: level, AWS_LAMBDA_FUNCTION_NAME: 'orders-consumer' } });
      await handler(batchWithOneBadRecord(), lambdaContext('request-1', 5_000));
    } finally {
      write.mockRestore();
    }
    const lines = written.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>);
    const metrics = lines.filter((line) => line._aws !== undefined);
    expect(metrics.map((line) => line.Projection)).toEqual(['customer-totals', 'order-status-counts', 'order-view', undefined]);
    expect(metrics.every((line) => line.level === undefined)).toBe(true); // not log lines: no log level filters them
    expect(lines.find((line) => line.msg === 'batch processed')).toBeUndefined(); // an info line: filtered out
  });

  it("keeps two consumers' metrics apart by the Consumer dimension", async () => {
    const orders = capturedMetrics();
    const billing = capturedMetrics();
    await memoryHandler({ environment: { STREAMFOLD_CONSUMER: 'orders' }, writeMetric: orders.writeMetric })(batchWithOneBadRecord());
    await memoryHandler({ environment: { STREAMFOLD_CONSUMER: 'billing' }, writeMetric: billing.writeMetric })(batchWithOneBadRecord());
    const dimensionValues = (documents: Record<string, any>[]) =>
      documents.flatMap((document) =>
        (document._aws.CloudWatchMetrics as { Dimensions: string[][] }[]).flatMap((directive) =>
          directive.Dimensions.map((dimensions) => dimensions.map((name) => `${name}=${document[name]}`).join(',')),
        ),
      );
    const ofOrders = new Set(dimensionValues(orders.documents));
    const ofBilling = new Set(dimensionValues(billing.documents));
    expect([...ofOrders].every((dimensions) => dimensions.startsWith('Consumer=orders'))).toBe(true);
    expect([...ofBilling].every((dimensions) => dimensions.startsWith('Consumer=billing'))).toBe(true);
    expect([...ofOrders].filter((dimensions) => ofBilling.has(dimensions))).toEqual([]);
  });
});

describe('configuration from the environment', () => {
  it('has defaults for everything', () => {
    expect(loadConfig({})).toMatchObject({
      STREAMFOLD_CONSUMER: 'default',
      STREAMFOLD_READ_MODEL_TABLE: 'streamfold-read-models',
      STREAMFOLD_CHECKPOINT_TABLE: 'streamfold-checkpoints',
      STREAMFOLD_CONCURRENCY: 4,
      LOG_LEVEL: 'info',
    });
  });

  it("takes the log level of Lambda's advanced logging controls unless LOG_LEVEL says otherwise", () => {
    expect(loadConfig({ AWS_LAMBDA_LOG_LEVEL: 'DEBUG' }).LOG_LEVEL).toBe('debug');
    expect(loadConfig({ AWS_LAMBDA_LOG_LEVEL: 'DEBUG', LOG_LEVEL: 'warn' }).LOG_LEVEL).toBe('warn');
  });

  it('refuses an invalid value, naming the variable', () => {
    try {
      loadConfig({ STREAMFOLD_CONCURRENCY: 'lots' });
      expect.unreachable();
    } catch (error) {
      expect(isStreamfoldError(error, 'CONFIGURATION')).toBe(true);
      expect((error as Error).message).toMatch(/field STREAMFOLD_CONCURRENCY/);
    }
    expect(() => createHandler({ projections: examples, environment: { STREAMFOLD_DYNAMODB_ENDPOINT: 'not a url' } })).toThrow(
      /STREAMFOLD_DYNAMODB_ENDPOINT/,
    );
  });
});
