import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { isStreamfoldError } from '../../src/errors.js';
import { createHandler } from '../../src/lambda/handler.js';
import { createLogger } from '../../src/logging.js';
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
    const failure = lines.find((line) => line.level === 50);
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

describe('metrics', () => {
  it('logs one embedded-metric line per projection after each batch', async () => {
    const { logger, lines } = capturedLogger();
    const handler = memoryHandler({ environment: {}, logger });
    const bad = orderRecord('100000000000000000003', { ...order, orderId: 'o-3' });
    (bad.dynamodb as { NewImage: Record<string, unknown> }).NewImage.amount = { S: 'x' };
    await handler({
      Records: [orderRecord('100000000000000000001', order), orderRecord('100000000000000000001', order), bad],
    });
    await new Promise((resolve) => setImmediate(resolve));
    const metrics = lines.filter((line) => line._aws !== undefined);
    expect(metrics.map((line) => line.Projection)).toEqual(['customer-totals', 'order-status-counts', 'order-view']);
    const totals = metrics[0] as Record<string, any>;
    expect(totals._aws.CloudWatchMetrics[0]).toEqual({
      Namespace: 'streamfold',
      Dimensions: [['Projection'], []],
      Metrics: [
        { Name: 'RecordsApplied', Unit: 'Count' },
        { Name: 'RecordsSkipped', Unit: 'Count' },
        { Name: 'RecordsParked', Unit: 'Count' },
        { Name: 'RecordsFailed', Unit: 'Count' },
        { Name: 'LagMilliseconds', Unit: 'Milliseconds' },
      ],
    });
    expect(totals).toMatchObject({ RecordsApplied: 1, RecordsParked: 1, RecordsFailed: 0 });
    expect(totals.LagMilliseconds).toBeGreaterThan(0);
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
