import type { BatchReport, BatchStats } from '../consumer/consumer.js';
import { compareSequences } from '../records/sequence.js';

export type BatchHandler = (records: readonly unknown[]) => Promise<BatchReport>;

export interface DeliveryTotals {
  records: number;
  batches: number;
  invocations: number;
  applied: number;
  parked: number;
  stale: number;
  duplicates: number;
  /** Records still failing when the retries ran out. */
  failed: number;
  /** Sequence numbers given up on, with the error of the last attempt. */
  readonly abandoned: { sequence: string; error: string }[];
}

export function emptyTotals(): DeliveryTotals {
  return { records: 0, batches: 0, invocations: 0, applied: 0, parked: 0, stale: 0, duplicates: 0, failed: 0, abandoned: [] };
}

/**
 * Delivers one batch the way a Lambda event source mapping with `ReportBatchItemFailures` does: when the
 * answer names a failed record, everything from its sequence number on comes again, up to `maxRetries`
 * times; then the records are given up (Lambda would send them to its on-failure destination).
 */
export async function deliverBatch(
  records: readonly unknown[],
  handle: BatchHandler,
  maxRetries: number,
  totals: DeliveryTotals,
): Promise<void> {
  totals.batches += 1;
  totals.records += records.length;
  let pending = records;
  for (let attempt = 0; ; attempt += 1) {
    totals.invocations += 1;
    const report = await handle(pending);
    add(totals, report.stats);
    const failure = report.batchItemFailures[0]?.itemIdentifier;
    if (failure === undefined) return;
    const from = pending.filter((record) => {
      const identifier = recordIdentifier(record);
      return identifier === undefined || compareSequences(identifier, failure) >= 0;
    });
    if (attempt >= maxRetries) {
      totals.failed += from.length;
      totals.abandoned.push({ sequence: failure, error: report.errors[0]?.message ?? 'unknown error' });
      return;
    }
    pending = from;
  }
}

function add(totals: DeliveryTotals, stats: BatchStats): void {
  totals.applied += stats.applied;
  totals.parked += stats.parked;
  totals.stale += stats.stale;
  totals.duplicates += stats.duplicates;
}

/** How Lambda names a raw record: its Kinesis sequence number, or its DynamoDB stream sequence number. */
export function recordIdentifier(record: unknown): string | undefined {
  const shaped = record as { kinesis?: { sequenceNumber?: unknown }; dynamodb?: { SequenceNumber?: unknown } } | null;
  const identifier = shaped?.kinesis?.sequenceNumber ?? shaped?.dynamodb?.SequenceNumber;
  return typeof identifier === 'string' && /^\d+$/.test(identifier) ? identifier : undefined;
}
