import { chunk } from '../concurrency.js';
import { generationOf } from '../projection/define.js';
import { isStateProjection, type AnyProjection } from '../projection/kinds.js';
import type { CheckpointEntry, ParkedRecord, ReadModelStore } from '../projection/ports.js';
import { compareSequences } from '../records/sequence.js';

/** Checkpoints read at once: BatchGetItem takes 100 keys. */
const KEYS_PER_READ = 100;

/**
 * Whether a parked record is covered by its item's checkpoint, so that a redrive removes it without applying
 * it: the item has moved past it (it was skipped with `onPoison: 'skip'`, or applied by an earlier redrive
 * that stopped before removing it). The rule is the lanes' (`standing` on main after #10, which should
 * replace this copy once both are merged): on a state table, a record the checkpoint has reached and that
 * is not at or after the record the item is blocked at; on an event log, a version the stream's contiguous
 * checkpoint has reached. `undefined` when it cannot be told (a record with no readable key, or of a
 * projection the module does not define).
 */
export function isCovered(record: ParkedRecord, projection: AnyProjection | undefined, entry: CheckpointEntry | undefined): boolean | undefined {
  if (projection === undefined) return undefined;
  if (entry === undefined) return false;
  if (!isStateProjection(projection)) return /^\d+$/.test(record.sequence) && BigInt(record.sequence) <= BigInt(entry.sequence);
  if (compareSequences(record.sequence, entry.sequence) > 0) return false;
  return entry.blockedAt === undefined || compareSequences(record.sequence, entry.blockedAt) < 0;
}

/** Each parked record with whether its checkpoint covers it, checkpoints read a hundred at a time. */
export async function withCoverage(
  records: readonly ParkedRecord[],
  projections: readonly AnyProjection[],
  store: ReadModelStore,
): Promise<{ record: ParkedRecord; covered: boolean | undefined }[]> {
  const byGeneration = new Map(projections.map((projection) => [generationOf(projection), projection]));
  const keys = [...new Set(records.filter((record) => byGeneration.has(record.generation)).map((record) => record.key))];
  const entries = new Map<string, ReadonlyMap<string, CheckpointEntry>>();
  for (const part of chunk(keys, KEYS_PER_READ)) {
    // The store reads a checkpoint by the key's canonical id alone.
    const loaded = await store.load(part.map((id) => ({ id, attributes: {} })), []);
    for (const [id, checkpoint] of loaded.checkpoints) entries.set(id, checkpoint.entries);
  }
  return records.map((record) => ({
    record,
    covered: isCovered(record, byGeneration.get(record.generation), entries.get(record.key)?.get(record.generation)),
  }));
}
