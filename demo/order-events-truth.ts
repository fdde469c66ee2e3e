import type { ReadModelRow } from '../src/projection/ports.js';

/**
 * The event-sourced read models computed straight from a scan of the event table: each stream's events in
 * version order, with plain BigInt arithmetic. It shares nothing with the runtime.
 */
export function eventTruth(items: readonly Record<string, unknown>[]) {
  const streams = new Map<string, Record<string, unknown>[]>();
  for (const item of items) streams.set(String(item.streamId), [...(streams.get(String(item.streamId)) ?? []), item]);
  const histories = new Map<string, { customerId: string | null; status: string; total: bigint; history: string[] }>();
  const revenue = new Map<string, { revenue: bigint; payments: bigint }>();
  for (const [streamId, events] of streams) {
    events.sort((a, b) => Number(a.version) - Number(b.version));
    const row = { customerId: null as string | null, status: 'placed', total: 0n, history: [] as string[] };
    for (const event of events) {
      const payload = event.payload as Record<string, unknown>;
      row.history.push(`${Number(event.version)}:${String(event.type)}`);
      if (event.type === 'OrderPlaced') {
        row.customerId = String(payload.customerId);
        row.status = 'placed';
      } else if (event.type === 'OrderLineAdded') {
        row.total += BigInt(String(payload.price)) * BigInt(String(payload.quantity));
      } else if (event.type === 'OrderPaid') {
        row.status = 'paid';
        const day = String(payload.paidAt).slice(0, 10);
        const sum = revenue.get(day) ?? { revenue: 0n, payments: 0n };
        revenue.set(day, { revenue: sum.revenue + BigInt(String(payload.amount)), payments: sum.payments + 1n });
      } else if (event.type === 'OrderShipped') {
        row.status = 'shipped';
      } else if (event.type === 'OrderCancelled') {
        row.status = 'cancelled';
      }
    }
    histories.set(streamId, row);
  }
  return { histories, revenue };
}

/** Every difference between stored rows and the truth, as readable strings. */
export function eventDifferences(
  truth: ReturnType<typeof eventTruth>,
  historyRows: readonly ReadModelRow[],
  revenueRows: readonly ReadModelRow[],
): string[] {
  const differences: string[] = [];
  const stored = new Map(historyRows.map((row) => [String((row.key as { streamId: unknown }).streamId), row.value]));
  for (const streamId of new Set([...stored.keys(), ...truth.histories.keys()])) {
    const got = stored.get(streamId);
    const want = truth.histories.get(streamId);
    const shape = (row: Record<string, unknown> | undefined) =>
      row === undefined
        ? '(no row)'
        : JSON.stringify({ customerId: row.customerId, status: row.status, total: String(row.total), history: row.history });
    if (shape(got) !== shape(want as Record<string, unknown> | undefined)) {
      differences.push(`order-history ${streamId}: stored ${shape(got)}, expected ${shape(want as Record<string, unknown> | undefined)}`);
    }
  }
  const storedRevenue = new Map(revenueRows.map((row) => [String(row.key), row.value]));
  for (const day of new Set([...storedRevenue.keys(), ...truth.revenue.keys()])) {
    const got = storedRevenue.get(day);
    const want = truth.revenue.get(day);
    const shape = (row: { revenue?: unknown; payments?: unknown } | undefined) =>
      row === undefined ? '(no row)' : `${String(row.revenue)}/${String(row.payments)}`;
    if (shape(got) !== shape(want)) differences.push(`revenue-per-day ${day}: stored ${shape(got)}, expected ${shape(want)}`);
  }
  return differences;
}
