import { describe, expect, it } from 'vitest';
import { StreamConsumer } from '../../src/consumer/consumer.js';
import { runtimesOf } from '../../src/catalog/lanes.js';
import { createHandler } from '../../src/lambda/handler.js';
import { silentLogger } from '../../src/core/logging.js';
import type { CommitOutcome, KeyWrite, ReadModelStore } from '../../src/projection/ports.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { orderRecord } from '../support/records.js';

/** A clock that moves only when the code under test waits or the store works. */
function fakeClock() {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const order = (id: string) => ({ orderId: id, customerId: `c-${id}`, status: 'PLACED', amount: 10 });

describe("Lambda's deadline", () => {
  it('answers before the deadline, reporting the keys a slow, throttled store did not finish', async () => {
    const clock = fakeClock();
    const inner = new MemoryReadModelStore();
    // Every call takes 400 ms; the hot key is throttled on every write.
    const slow: ReadModelStore = {
      load: async (keys, views) => {
        clock.advance(400);
        return inner.load(keys, views);
      },
      commit: async (writes: readonly KeyWrite[]): Promise<CommitOutcome[]> => {
        clock.advance(400);
        const throttled = new Error('ThrottlingException');
        const landing = writes.filter((write) => write.key.attributes.orderId !== 'hot');
        const landed = await inner.commit(landing);
        return writes.map((write) => (write.key.attributes.orderId === 'hot' ? { status: 'retry', error: throttled } : (landed[landing.indexOf(write)] as CommitOutcome)));
      },
    };
    const runtimes = runtimesOf([customerTotals], slow, silentLogger, { sleep: clock.sleep, maxRounds: 50 });
    const consumer = new StreamConsumer(runtimes, silentLogger, undefined, undefined, { deadlineMarginMs: 1_000 });
    const records = [
      orderRecord('100000000000000000005', order('hot')),
      orderRecord('100000000000000000006', order('a')),
      orderRecord('100000000000000000007', order('b')),
    ];
    const deadlineAt = 6_000;
    const report = await consumer.process(records, { remainingTimeMs: () => deadlineAt - clock.now() });

    expect(clock.now()).toBeLessThanOrEqual(deadlineAt);
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: '100000000000000000005' }]);
    expect(report.errors[0]?.message).toMatch(/ThrottlingException|deadline/);
    expect((await readAllRows(inner, customerTotals)).map((row) => row.key)).toEqual(['c-a', 'c-b']);
  });

  it('starts nothing when the invocation is already past its margin, and reports every record', async () => {
    const store = new MemoryReadModelStore();
    const handler = createHandler({ projections: [customerTotals], store, deadLetters: null, environment: { LOG_LEVEL: 'silent' } });
    const records = [orderRecord('100000000000000000001', order('a')), orderRecord('100000000000000000002', order('b'))];
    const response = await handler({ Records: records }, { getRemainingTimeInMillis: () => 2_000, awsRequestId: 'r-1' });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: '100000000000000000001' }]);
    expect(store.commits).toBe(0);
    const later = await handler({ Records: records }, { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'r-2' });
    expect(later.batchItemFailures).toEqual([]);
  });
});

describe("fan-out within Lambda's deadline", () => {
  it('stops retrying a target that keeps failing before the deadline, and reports the messages for a retry', async () => {
    const { deliverEntries } = await import('../../src/fanout/deliver.js');
    const { Deadline } = await import('../../src/core/retry.js');
    const { StreamfoldError } = await import('../../src/core/errors.js');
    const clock = fakeClock();
    let sends = 0;
    const failing = async (chunk: readonly string[]) => {
      sends += 1;
      clock.advance(300);
      return chunk.map(() => ({ ok: false as const, retryable: true, error: new StreamfoldError('STORE_WRITE_FAILED', 'throttled') }));
    };
    const deadline = new Deadline(() => 2_000 - clock.now(), 500);
    const outcomes = await deliverEntries(['a', 'b'], (pending) => [[...pending]], failing, {
      maxAttempts: 100,
      sleep: clock.sleep,
      backoff: { baseMs: 200, capMs: 200 },
      deadline,
    });
    expect(clock.now()).toBeLessThanOrEqual(2_000);
    expect(sends).toBeGreaterThan(1);
    expect(sends).toBeLessThan(100);
    expect(outcomes.every((outcome) => !outcome.ok && outcome.retryable)).toBe(true);
  });
});
