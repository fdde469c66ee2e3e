import type { TableCheck } from '../../adapters/dynamodb/preflight.js';
import { StreamfoldError } from '../core/errors.js';
import { isPlainRecord } from '../records/attribute-value.js';
import type { Connection } from './connection.js';
import { sourceTable } from './connection.js';
import type { InputRecord } from './stream-input.js';

export interface Attribution {
  readonly records: InputRecord[];
  /** Records without an `eventSourceARN` now carrying the source table's, their keys being its keys. */
  readonly attributed: number;
  /** Records without one whose keys are not the source table's: the consumer refuses (and parks) them. */
  readonly refused: number;
}

/** A DynamoDB stream record that names no table: no `eventSourceARN` (the AWS CLI prints none), no `tableName`. */
function namesNoTable(record: unknown): record is Record<string, unknown> & { dynamodb: Record<string, unknown> } {
  return (
    isPlainRecord(record) &&
    !('kinesis' in record) &&
    isPlainRecord(record.dynamodb) &&
    record.eventSourceARN === undefined &&
    record.tableName === undefined
  );
}

/**
 * With a source table set, a record that names no table is attributed to it only when its `Keys` are exactly
 * that table's key attributes, with their types; it then carries the table's stream ARN, as Lambda would
 * have delivered it. Any other record without an ARN is left as it is, and the consumer refuses it: a record
 * of another table is never folded into this one's read models. Two tables with the same key attributes
 * cannot be told apart this way; `capture` keeps the ARN.
 */
export async function attributeToSourceTable(connection: Connection, records: InputRecord[]): Promise<Attribution> {
  const name = connection.config.STREAMFOLD_SOURCE_TABLE;
  const unnamed = records.filter((entry) => namesNoTable(entry.record));
  if (name === undefined || unnamed.length === 0) return { records, attributed: 0, refused: 0 };
  const table = await sourceTable(connection, name, '--source-table');
  if (table === undefined) {
    throw new StreamfoldError(
      'CONFIGURATION',
      `${unnamed.length} records have no eventSourceARN, and the key schema of ${name} cannot be read (no permission to describe it) ` +
        `to attribute them: give records with their ARN (streamfold capture keeps it), or leave out --source-table`,
      { field: '--source-table' },
    );
  }
  const arn = table.streamArn ?? table.tableArn ?? `arn:aws:dynamodb:::table/${name}`;
  let attributed = 0;
  const stamped = records.map((entry) => {
    if (!namesNoTable(entry.record) || !hasKeysOf(table, entry.record.dynamodb.Keys)) return entry;
    attributed += 1;
    return { ...entry, record: { ...entry.record, eventSourceARN: arn } };
  });
  return { records: stamped, attributed, refused: unnamed.length - attributed };
}

function hasKeysOf(table: Extract<TableCheck, { state: 'present' }>, keys: unknown): boolean {
  if (!isPlainRecord(keys) || Object.keys(keys).length !== table.keys.length) return false;
  return table.keys.every((key) => {
    const value = Object.hasOwn(keys, key.name) ? keys[key.name] : undefined;
    return isPlainRecord(value) && Object.keys(value).length === 1 && key.type in value;
  });
}
