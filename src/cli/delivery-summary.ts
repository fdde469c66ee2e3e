import type { UsageSnapshot } from '../../adapters/dynamodb/usage.js';
import type { DeliveryTotals } from '../local/lambda-driver.js';

/** What records delivered to the handler came to, for people: one figure a line. */
export function deliveryLines(totals: DeliveryTotals, usage: UsageSnapshot): string[] {
  const requests = Object.entries(usage.requests)
    .map(([operation, count]) => `${operation} ${count}`)
    .join(', ');
  return [
    `  applied   ${totals.applied}`,
    `  parked    ${totals.parked}`,
    `  skipped   ${totals.stale + totals.duplicates} (${totals.duplicates} duplicate in a batch, ${totals.stale} already applied or stale)`,
    `  failed    ${totals.failed}`,
    `  DynamoDB  ${usage.totalRequests} requests (${requests || 'none'}); ${usage.billedWriteUnits} write units as billed, ${usage.consumedReadUnits} read units consumed`,
  ];
}

/** The same figures, for programs. */
export function deliveryJson(totals: DeliveryTotals, usage: UsageSnapshot): Record<string, unknown> {
  return {
    records: totals.records,
    batches: totals.batches,
    invocations: totals.invocations,
    applied: totals.applied,
    parked: totals.parked,
    skipped: { duplicates: totals.duplicates, stale: totals.stale },
    failed: totals.failed,
    dynamodb: usage,
  };
}

/** Whether anything delivered is left to look at: parked, or failing when the retries ran out. */
export const needsAttention = (totals: DeliveryTotals): boolean => totals.parked > 0 || totals.failed > 0;
