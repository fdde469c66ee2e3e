import { readFile } from 'node:fs/promises';
import { StreamfoldError } from '../errors.js';
import { isPlainRecord } from '../records/attribute-value.js';

/**
 * Reads stream records from a file: a Lambda event (`{"Records": [...]}`), a JSON array of records, or JSON
 * Lines with one record (or one Lambda event) a line.
 */
export async function readRecordsFile(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8');
  const trimmed = text.trim();
  if (trimmed === '') return [];
  try {
    return recordsOf(JSON.parse(trimmed));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
  }
  const records: unknown[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new StreamfoldError('MALFORMED_RECORD', `${path} line ${index + 1} is not JSON: ${(error as Error).message}`, {
        field: `line ${index + 1}`,
      });
    }
    records.push(...recordsOf(value));
  });
  return records;
}

function recordsOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (isPlainRecord(value) && Array.isArray(value.Records)) return value.Records;
  return [value];
}
