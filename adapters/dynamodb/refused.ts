import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StreamfoldError, errorMessage } from '../../src/core/errors.js';
import type { CommitOutcome, KnownTotal } from '../../src/projection/ports.js';
import { Decimal } from '../../src/records/decimal.js';
import { cancellationReasons, INVALID_REASONS } from './errors.js';
import { ATTR } from './layout.js';
import type { Transaction, Unit } from './transactions.js';

const PRECISION = /precision|significant digits|overflow|magnitude/i;

/**
 * One key's write that DynamoDB refused as invalid, laid on the projection (generation) at fault: the item
 * DynamoDB names in the cancellation reasons; for a number it cannot hold (a total past 38 significant
 * digits, which DynamoDB reports without naming the item), the sum row whose total would overflow, found by
 * reading it; else every projection the write touches.
 */
export async function refusedOutcome(client: DynamoDBClient, unit: Unit, transaction: Transaction, error: unknown): Promise<CommitOutcome> {
  const touched = touchedGenerations(unit);
  const reasons = cancellationReasons(error);
  const at = reasons.findIndex((reason) => INVALID_REASONS.has(reason.Code ?? ''));
  if (at >= 0) {
    const generation = transaction.generations[at];
    const message = `DynamoDB refused the write${generation === undefined ? ' of the checkpoint' : ` of ${generation}`}: ${reasons[at]?.Message ?? reasons[at]?.Code ?? ''}`;
    return refused(message, error, generation === undefined ? touched : [generation]);
  }
  if (PRECISION.test(errorMessage(error))) {
    const read = await sumTotals(client, transaction).catch(() => ({ totals: [], overflowing: [] }));
    const first = read.overflowing[0];
    if (first !== undefined) {
      const message =
        `the total of ${first.field} in group "${first.group}" of ${first.generation} would need more than 38 significant digits, ` +
        `which a DynamoDB number cannot hold (DynamoDB: ${errorMessage(error)})`;
      return refused(message, error, [...new Set(read.overflowing.map((entry) => entry.generation))], read.totals);
    }
  }
  return refused(`DynamoDB refused the write: ${errorMessage(error)}`, error, touched);
}

function refused(message: string, cause: unknown, generations: readonly string[], totals?: readonly KnownTotal[]): CommitOutcome {
  return { status: 'refused', error: new StreamfoldError('STORE_WRITE_FAILED', message, { cause }), generations, ...(totals === undefined ? {} : { totals }) };
}

/** The projections whose rows the transaction changes; the checkpoint item's own entries if it changes none. */
function touchedGenerations(unit: Unit): string[] {
  const generations = new Set([...unit.items.flatMap((item) => (item.generation === undefined ? [] : [item.generation])), ...unit.write.sums.map((sum) => sum.generation)]);
  return generations.size > 0 ? [...generations] : Object.keys(unit.checkpoint?.[ATTR.entries]?.M ?? {});
}

interface Overflow {
  readonly generation: string;
  readonly group: string;
  readonly field: string;
}

/**
 * Reads each sum row the transaction adds to: the totals as they stand (so the runtime can check each record's
 * step against them), and those whose new total DynamoDB cannot store.
 */
async function sumTotals(client: DynamoDBClient, transaction: Transaction): Promise<{ totals: KnownTotal[]; overflowing: Overflow[] }> {
  const found: Overflow[] = [];
  const totals: KnownTotal[] = [];
  for (const [index, item] of transaction.items.entries()) {
    const update = item.Update;
    const generation = transaction.generations[index];
    if (update === undefined || generation === undefined) continue;
    const { Item } = await client.send(new GetItemCommand({ TableName: update.TableName, Key: update.Key, ConsistentRead: true }));
    const names = update.ExpressionAttributeNames ?? {};
    const values = update.ExpressionAttributeValues ?? {};
    for (const [placeholder, field] of Object.entries(names)) {
      const delta = values[placeholder.replace('#f', ':a')]?.N;
      if (!placeholder.startsWith('#f') || delta === undefined) continue;
      const current = Item?.[field]?.N;
      const group = Item?.[ATTR.group]?.S ?? String(values[':grp']?.S);
      if (current !== undefined) totals.push({ generation, group, field, total: Decimal.parse(current) });
      try {
        (current === undefined ? Decimal.parse(delta) : Decimal.parse(current).add(Decimal.parse(delta))).assertStorable();
      } catch {
        found.push({ generation, group, field });
      }
    }
  }
  return { totals, overflowing: found };
}
