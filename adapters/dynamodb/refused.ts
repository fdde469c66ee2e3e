import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { StreamfoldError, errorMessage } from '../../src/core/errors.js';
import type { CommitOutcome } from '../../src/projection/ports.js';
import { Decimal } from '../../src/records/decimal.js';
import { cancellationReasons } from './errors.js';
import { ATTR } from './layout.js';
import type { Transaction, Unit } from './transactions.js';

const INVALID_REASONS = new Set(['ValidationError', 'ItemCollectionSizeLimitExceeded']);
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
    const overflowing = await overflowingSums(client, transaction).catch(() => []);
    if (overflowing.length > 0) {
      const first = overflowing[0] as Overflow;
      const message =
        `the total of ${first.field} in group "${first.group}" of ${first.generation} would need more than 38 significant digits, ` +
        `which a DynamoDB number cannot hold (DynamoDB: ${errorMessage(error)})`;
      return refused(message, error, [...new Set(overflowing.map((entry) => entry.generation))]);
    }
  }
  return refused(`DynamoDB refused the write: ${errorMessage(error)}`, error, touched);
}

function refused(message: string, cause: unknown, generations: readonly string[]): CommitOutcome {
  return { status: 'refused', error: new StreamfoldError('STORE_WRITE_FAILED', message, { cause }), generations };
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

/** Reads each sum row the transaction adds to, and finds those whose new total DynamoDB cannot store. */
async function overflowingSums(client: DynamoDBClient, transaction: Transaction): Promise<Overflow[]> {
  const found: Overflow[] = [];
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
      try {
        (current === undefined ? Decimal.parse(delta) : Decimal.parse(current).add(Decimal.parse(delta))).assertStorable();
      } catch {
        found.push({ generation, group: Item?.[ATTR.group]?.S ?? String(values[':grp']?.S), field });
      }
    }
  }
  return found;
}
