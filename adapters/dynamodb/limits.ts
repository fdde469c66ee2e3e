import { StreamfoldError } from '../../src/core/errors.js';
import type { Refusal } from '../../src/projection/ports.js';
import { itemSize } from './item-size.js';
import type { ViewState } from '../../src/projection/define.js';
import type { ItemKey } from '../../src/records/item-key.js';
import { SEQUENCE_MAX_DIGITS } from '../../src/records/sequence.js';
import { ATTR, encodeViewRow, type SdkItem } from './layout.js';
import type { KeyParts } from './parts.js';
import { TRANSACT_BYTE_BUDGET, TRANSACT_MAX_ITEMS, type Unit } from './transactions.js';

/** DynamoDB's item size limit: 400 KB, counted in attribute names and values. */
export const MAX_ITEM_BYTES = 400 * 1024;

/**
 * What DynamoDB would refuse of one key's write, found before sending: a row or checkpoint over 400 KB, more
 * rows than one transaction holds, more bytes than one transaction carries. Each is laid on the projection
 * (generation) that makes it so, so that only that projection's record is parked.
 */
export function refusalsOf(parts: KeyParts): Refusal[] {
  const refusals: Refusal[] = [];
  for (const single of parts.singles) {
    if (single.kind === 'row' && single.bytes > MAX_ITEM_BYTES) refusals.push(rowTooLarge(single.generations[0] ?? '', single.bytes));
    if (single.kind === 'checkpoint' && single.write.type === 'put') refusals.push(...checkpointRefusals(single.write.item));
  }
  const unit = parts.unit;
  if (unit === undefined) return dedupe(refusals);
  for (const view of unit.items) {
    if (view.generation !== undefined && view.bytes > MAX_ITEM_BYTES) refusals.push(rowTooLarge(view.generation, view.bytes));
  }
  if (unit.checkpoint !== undefined) refusals.push(...checkpointRefusals(unit.checkpoint));
  if (unit.rows.size > TRANSACT_MAX_ITEMS) {
    const [most, count] = mostOf(rowsByGeneration(unit));
    if (most !== undefined) {
      refusals.push(refusal(most, `this item's change touches ${unit.rows.size} rows, more than the ${TRANSACT_MAX_ITEMS} one DynamoDB transaction holds; ${most} touches ${count} of them`));
    }
  }
  if (unit.bytes > TRANSACT_BYTE_BUDGET) {
    const [most, bytes] = mostOf(bytesByGeneration(unit));
    if (most !== undefined) {
      refusals.push(refusal(most, `this item's change would be ${unit.bytes.toLocaleString('en')} bytes, more than one DynamoDB transaction carries (4 MB); ${most} writes ${bytes.toLocaleString('en')} of them`));
    }
  }
  return dedupe(refusals);
}

/** A view row DynamoDB would refuse for its size, as one record's step would write it. */
export function viewRowRefusal(generation: string, key: ItemKey, state: ViewState): StreamfoldError | undefined {
  // As the row would be written: with its entry (sequence and block at their widest) and revision.
  const widest = '9'.repeat(SEQUENCE_MAX_DIGITS);
  const bytes = itemSize(encodeViewRow(generation, key, state, widest, Date.now(), Number.MAX_SAFE_INTEGER, { sequence: widest, blockedAt: widest }));
  return bytes <= MAX_ITEM_BYTES ? undefined : rowTooLarge(generation, bytes).error;
}

function rowTooLarge(generation: string, bytes: number): Refusal {
  return refusal(generation, `the row of ${generation} for this item would be ${bytes.toLocaleString('en')} bytes, over DynamoDB's 400 KB (${MAX_ITEM_BYTES.toLocaleString('en')}-byte) item limit`);
}

/** A checkpoint item over 400 KB: laid on the projection that keeps the most in it. */
function checkpointRefusals(checkpoint: SdkItem): Refusal[] {
  const checkpointBytes = itemSize(checkpoint);
  if (checkpointBytes <= MAX_ITEM_BYTES) return [];
  const entries = checkpoint[ATTR.entries]?.M ?? {};
  const [largest, bytes] = mostOf(new Map(Object.entries(entries).map(([generation, value]) => [generation, itemSize({ [generation]: value })])));
  if (largest === undefined) return [];
  return [refusal(largest, `the item's checkpoint would be ${checkpointBytes.toLocaleString('en')} bytes, over DynamoDB's 400 KB item limit; ${largest} keeps the most in it (${bytes.toLocaleString('en')} bytes)`)];
}

function refusal(generation: string, message: string): Refusal {
  return { generation, error: new StreamfoldError('STORE_WRITE_FAILED', message) };
}

function rowsByGeneration(unit: Unit): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of unit.items) if (item.generation !== undefined) counts.set(item.generation, (counts.get(item.generation) ?? 0) + 1);
  for (const sum of unit.write.sums) counts.set(sum.generation, (counts.get(sum.generation) ?? 0) + 1);
  return counts;
}

function bytesByGeneration(unit: Unit): Map<string, number> {
  const bytes = new Map<string, number>();
  for (const item of unit.items) if (item.generation !== undefined) bytes.set(item.generation, (bytes.get(item.generation) ?? 0) + item.bytes);
  return bytes;
}

function mostOf(values: ReadonlyMap<string, number>): [string | undefined, number] {
  let most: string | undefined;
  let count = 0;
  for (const [name, value] of values) {
    if (value > count) {
      most = name;
      count = value;
    }
  }
  return [most, count];
}

/** One refusal per generation is enough: its record is parked, and the write checked again. */
function dedupe(refusals: readonly Refusal[]): Refusal[] {
  const seen = new Set<string>();
  return refusals.filter((entry) => !seen.has(entry.generation) && seen.add(entry.generation));
}
