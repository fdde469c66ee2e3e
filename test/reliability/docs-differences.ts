import type { ParkedRecord, ReadModelReader } from '../../src/projection/ports.js';
import { keyText, type DocsTruth, type ExpectedParked, type HistoryRow, type RawRecord, type StreamRow, type WireMap } from './docs-truth.js';

/**
 * Every difference between what the engine left (read models and parked records) and the truth, as readable
 * lines. Binaries are compared as their base64, byte for byte; numbers as exact digits.
 */
export async function docsDifferences(
  reader: ReadModelReader,
  parked: readonly ParkedRecord[],
  truth: DocsTruth,
  records: readonly RawRecord[],
  streams: ReadonlyMap<string, StreamRow>,
): Promise<string[]> {
  const differences: string[] = [];
  const streamRows = new Map<string, Record<string, unknown>>();
  for await (const row of reader.rows('stream-history#v1', 'view')) streamRows.set(String((row.key as { stream: unknown }).stream), row.value);
  for (const stream of new Set([...streamRows.keys(), ...streams.keys()])) {
    const stored = streamRows.get(stream);
    const expected = streams.get(stream);
    const shown = (row: Record<string, unknown> | undefined) =>
      row === undefined ? '(no row)' : `${listOf(row.events).join(' ')} | ${listOf(row.blobs).map(base64).join(',')} | ${listOf(row.parts).map(base64).join(',')}`;
    const wanted = expected === undefined ? '(no row)' : `${expected.events.join(' ')} | ${expected.blobs.join(',')} | ${expected.parts.join(',')}`;
    if (shown(stored) !== wanted) differences.push(`stream-history ${stream}: stored ${shown(stored)}, expected ${wanted}`);
  }
  const history = new Map<string, Record<string, unknown>>();
  for await (const row of reader.rows('doc-history#v1', 'view')) history.set(storedKey(row.key), row.value);
  for (const key of new Set([...history.keys(), ...truth.history.keys()])) {
    const stored = history.get(key);
    const expected = truth.history.get(key);
    if (stored === undefined || expected === undefined) {
      differences.push(`doc-history ${key}: ${stored === undefined ? 'no row stored' : 'a row stored where none is expected'}`);
      continue;
    }
    differences.push(...historyDifferences(key, stored, expected));
  }
  for (const [name, expected] of [
    ['stage-counts#v1', truth.stageCounts],
    ['group-totals#v1', truth.groupTotals],
  ] as const) {
    const stored = new Map<string, Record<string, unknown>>();
    for await (const row of reader.rows(name, 'sum')) stored.set(String(row.key), row.value);
    for (const group of new Set([...stored.keys(), ...expected.keys()])) {
      const left = stored.get(group) ?? {};
      const right = expected.get(group) ?? {};
      for (const field of new Set([...Object.keys(left), ...Object.keys(right)])) {
        const got = left[field] === undefined ? '(missing)' : exactText(left[field]);
        const want = right[field] === undefined ? '(missing)' : right[field].toString();
        if (got !== want) differences.push(`${name} ${group}.${field}: stored ${got}, expected ${want}`);
      }
    }
  }
  differences.push(...parkedDifferences(parked, truth.parked, records));
  return differences;
}

function historyDifferences(key: string, stored: Record<string, unknown>, expected: HistoryRow): string[] {
  const differences: string[] = [];
  const entries = (stored.entries as string[] | undefined) ?? [];
  if (entries.join(' ') !== expected.entries.join(' ')) {
    differences.push(`doc-history ${key}: entries [${entries.join(' ')}], expected [${expected.entries.join(' ')}]`);
  }
  const notes = (stored.notes as string[] | undefined) ?? [];
  const wrongNote = notes.findIndex((note, index) => note !== expected.notes[index]);
  if (notes.length !== expected.notes.length || wrongNote >= 0) {
    differences.push(`doc-history ${key}: ${notes.length} notes (first wrong: ${wrongNote}), expected ${expected.notes.length}`);
  }
  for (const field of ['blob', 'raw', 'first'] as const) {
    const got = base64(stored[field]);
    if (got !== expected[field]) differences.push(`doc-history ${key}.${field}: stored ${got}, expected ${expected[field]}`);
  }
  const tags = ((stored.tags as unknown[] | undefined) ?? []).map(base64).join(',');
  if (tags !== expected.tags.join(',')) differences.push(`doc-history ${key}.tags: stored ${tags}, expected ${expected.tags.join(',')}`);
  return differences;
}

/** What is parked must be exactly what the truth expects, each with its record as it was delivered. */
function parkedDifferences(parked: readonly ParkedRecord[], expected: readonly ExpectedParked[], records: readonly RawRecord[]): string[] {
  const differences: string[] = [];
  const id = (entry: { generation: string; key: string; sequence: string }) => `${entry.generation} ${entry.key} ${entry.sequence}`;
  const stored = new Map(parked.map((record) => [id({ generation: record.generation, key: parkedKeyText(record.key), sequence: record.sequence }), record]));
  const wanted = new Map(expected.map((entry) => [id(entry), entry]));
  const bySequence = new Map(records.map((record) => [record.dynamodb.SequenceNumber, record]));
  for (const [name, record] of stored) {
    const entry = wanted.get(name);
    if (entry === undefined) {
      differences.push(`parked ${name} (${record.reason}: ${record.error.message}) is not expected`);
      continue;
    }
    if (record.reason !== entry.reason) differences.push(`parked ${name} is ${record.reason}, expected ${entry.reason}`);
    if (entry.error !== undefined && !entry.error.test(record.error.message)) {
      differences.push(`parked ${name} says "${record.error.message}", expected ${String(entry.error)}`);
    }
    if (canonical(record.record) !== canonical(bySequence.get(record.sequence))) differences.push(`parked ${name} does not hold its record as delivered`);
  }
  for (const name of wanted.keys()) if (!stored.has(name)) differences.push(`parked ${name} is missing`);
  return differences;
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [`(not a list: ${typeof value})`];
}

/** An item's key as the truth names it; a stream's key as the engine does. */
function parkedKeyText(key: string): string {
  return key.startsWith('{') ? keyText(JSON.parse(key) as WireMap) : key;
}

function storedKey(key: unknown): string {
  const { id, slot } = key as { id: Uint8Array; slot: unknown };
  return `${base64(id)}/${exactText(slot)}`;
}

function base64(value: unknown): string {
  return value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') : `(not bytes: ${typeof value})`;
}

/** JSON with bytes as base64, so two records compare byte for byte. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, field: unknown) => (field instanceof Uint8Array ? { bytes: base64(field) } : field)) ?? 'undefined';
}

/** A number the reader handed back (number, bigint or decimal object) as its exact digits. */
export function exactText(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (match === null) return `(not a number: ${text})`;
  const [, sign, whole = '', fraction = '', exponent = '0'] = match;
  const shift = Number(exponent) - fraction.length;
  const digits = BigInt(whole + fraction);
  if (shift >= 0) return `${sign}${(digits * 10n ** BigInt(shift)).toString()}`;
  return text;
}
