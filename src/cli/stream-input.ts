import { readFile } from 'node:fs/promises';
import { StreamfoldError } from '../core/errors.js';
import { isPlainRecord } from '../records/attribute-value.js';
import { toLambdaRecord } from './normalise-record.js';

/** Where a record was in the input, for messages a person can act on: `records.jsonl line 12`. */
export interface InputRecord {
  readonly record: unknown;
  /** `<file> line <n>`, with the record's place in the line's `Records` when it held several. */
  readonly origin: string;
}

/**
 * Reads stream records from a file, or from standard input (`-`): a Lambda event (`{"Records": [...]}`),
 * the output of `aws dynamodbstreams get-records` (the same, with `NextShardIterator`), a JSON array of
 * records, or JSON Lines holding any of these a line. Each record is turned into Lambda's shape.
 */
export async function readStreamInput(path: string, stdin: () => Promise<string> = readStdin): Promise<InputRecord[]> {
  const name = path === '-' ? 'stdin' : path;
  let text: string;
  try {
    text = path === '-' ? await stdin() : await readFile(path, 'utf8');
  } catch (error) {
    throw new StreamfoldError('CONFIGURATION', `cannot read --input ${path}: ${(error as Error).message}`, { field: '--input', cause: error });
  }
  return parseStreamInput(text, name);
}

export function parseStreamInput(text: string, name: string): InputRecord[] {
  if (text.trim() === '') return [];
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    return jsonLines(text, name);
  }
  return placed(recordsOf(whole), text, name);
}

function jsonLines(text: string, name: string): InputRecord[] {
  const records: InputRecord[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new StreamfoldError('MALFORMED_RECORD', `${name} line ${index + 1} is not JSON: ${(error as Error).message}`, {
        field: `line ${index + 1}`,
      });
    }
    const here = recordsOf(value);
    here.forEach((record, position) =>
      records.push({ record: toLambdaRecord(record), origin: `${name} line ${index + 1}${here.length > 1 ? ` (Records[${position}])` : ''}` }),
    );
  });
  return records;
}

/** The records a JSON value holds: those of an event or a get-records page, an array's, or itself. */
function recordsOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (isPlainRecord(value) && Array.isArray(value.Records)) return value.Records;
  return [value];
}

/**
 * The line of each record of a multi-line JSON document (such as the AWS CLI prints): the line of its
 * `"eventID": "..."`, found in order; a record whose ID cannot be found is named by its index instead.
 */
function placed(records: readonly unknown[], text: string, name: string): InputRecord[] {
  let cursor = 0;
  let counted = 0;
  let line = 1;
  return records.map((record, index) => {
    const eventID = isPlainRecord(record) && typeof record.eventID === 'string' ? record.eventID : undefined;
    let origin = `${name} Records[${index}]`;
    if (eventID !== undefined) {
      const found = new RegExp(`"eventID"\\s*:\\s*${escapeRegExp(JSON.stringify(eventID))}`, 'g');
      found.lastIndex = cursor;
      const match = found.exec(text);
      if (match !== null) {
        for (let at = text.indexOf('\n', counted); at !== -1 && at < match.index; at = text.indexOf('\n', at + 1)) line += 1;
        counted = match.index;
        cursor = match.index + match[0].length;
        origin = `${name} line ${line}${records.length > 1 ? ` (Records[${index}])` : ''}`;
      }
    }
    return { record: toLambdaRecord(record), origin };
  });
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
