import type { AttributeValue, BatchStatementRequest, TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { ATTR, type SdkItem } from './layout.js';

/**
 * A whole item written only over the version that was read: its revision, or no item at all. The same write
 * goes into a transaction (a `Put` with a condition) or stands alone (a PartiQL statement, sent in batches of
 * 25 by `BatchExecuteStatement` and billed as a single-item write: 1 unit per KB, not 2).
 */
export interface GuardedPut {
  readonly type: 'put';
  readonly table: string;
  readonly item: SdkItem;
  readonly keyNames: readonly string[];
  /** `undefined` (or 0): no item may be there. */
  readonly expectedRevision: number | undefined;
  /** Attributes an earlier version may have that this one has not (a tombstone has no `value`). */
  readonly removable: readonly string[];
  /** Attributes every version of the item has alike (a row's source key): an update leaves them be. */
  readonly fixed: readonly string[];
}

/** Some attributes of an item that must be there at the revision read; the rest stays as it is. */
export interface GuardedUpdate {
  readonly type: 'update';
  readonly table: string;
  readonly key: SdkItem;
  readonly set: SdkItem;
  readonly expectedRevision: number;
}

export type GuardedWrite = GuardedPut | GuardedUpdate;

const isNew = (revision: number | undefined): boolean => revision === undefined || revision === 0;

export function transactItemOf(write: GuardedPut): TransactWriteItem {
  const condition: Pick<NonNullable<TransactWriteItem['Put']>, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> = isNew(write.expectedRevision)
    ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': ATTR.pk } }
    : {
        ConditionExpression: '#rev = :rev',
        ExpressionAttributeNames: { '#rev': ATTR.revision },
        ExpressionAttributeValues: { ':rev': { N: String(write.expectedRevision) } },
      };
  return { Put: { TableName: write.table, Item: write.item, ...condition } };
}

/**
 * The write as a PartiQL statement. A new item is an `INSERT` (which fails with `DuplicateItem` if one is
 * there); an existing one an `UPDATE` whose `WHERE` names the key and the revision read (which fails with
 * `ConditionalCheckFailed` if the item moved or went). Names are our own, values are all parameters.
 */
export function statementOf(write: GuardedWrite): BatchStatementRequest {
  const table = quoted(write.table);
  if (write.type === 'put' && isNew(write.expectedRevision)) {
    const entries = Object.entries(write.item);
    return {
      Statement: `INSERT INTO ${table} VALUE {${entries.map(([name]) => `'${name}': ?`).join(', ')}}`,
      Parameters: entries.map(([, value]) => value),
    };
  }
  const keyNames = write.type === 'put' ? write.keyNames : Object.keys(write.key);
  const source = write.type === 'put' ? write.item : { ...write.key, ...write.set };
  const unchanged = write.type === 'put' ? [...keyNames, ...write.fixed] : keyNames;
  const set = Object.entries(source).filter(([name]) => !unchanged.includes(name));
  const removed = write.type === 'put' ? write.removable.filter((name) => write.item[name] === undefined) : [];
  const where = keyNames.map((name) => [name, source[name] as AttributeValue] as const);
  return {
    Statement:
      `UPDATE ${table} ${set.map(([name]) => `SET ${quoted(name)} = ?`).join(' ')}` +
      `${removed.map((name) => ` REMOVE ${quoted(name)}`).join('')}` +
      ` WHERE ${[...where.map(([name]) => `${quoted(name)} = ?`), `${quoted(ATTR.revision)} = ?`].join(' AND ')}`,
    Parameters: [...set.map(([, value]) => value), ...where.map(([, value]) => value), { N: String(write.expectedRevision) }],
  };
}

function quoted(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
