import { generationOf } from '../projection/define.js';
import { lanesOf } from '../catalog/lanes.js';
import type { AnyProjection } from '../catalog/kinds.js';
import type { Lane } from '../projection/lane.js';
import type { CheckpointEntry, ParkedRecord, ReadModelStore } from '../projection/ports.js';

/**
 * Whether a parked record is covered by its item's checkpoint, so that a redrive removes it without applying
 * it: the lane's own rule (`standing`), the one redrive goes by. `undefined` when it cannot be told (a record
 * with no readable key, or of a projection the module does not define).
 */
export function isCovered(record: ParkedRecord, lane: Lane | undefined, entry: CheckpointEntry | undefined): boolean | undefined {
  return lane === undefined ? undefined : lane.standing(entry, record) === 'covered';
}

/** Each parked record with whether its checkpoint covers it (the store reads them in batches of its own). */
export async function withCoverage(
  records: readonly ParkedRecord[],
  projections: readonly AnyProjection[],
  store: ReadModelStore,
): Promise<{ record: ParkedRecord; covered: boolean | undefined }[]> {
  const byGeneration = new Map(lanesOf(projections).flatMap((lane) => lane.projections.map((projection) => [generationOf(projection), lane] as const)));
  const keys = [...new Set(records.filter((record) => byGeneration.has(record.generation)).map((record) => record.key))];
  // A state table's views keep their entries in their rows: those of the parked records' views are read too.
  const views = [...new Set(records.map((record) => record.generation))].filter((generation) => byGeneration.get(generation)?.kind === 'state' && isView(generation, projections));
  // The store reads a checkpoint and a view row by the key's canonical id alone.
  const loaded = await store.load(keys.map((id) => ({ id, attributes: {} })), views);
  const entries = new Map<string, ReadonlyMap<string, CheckpointEntry>>([...loaded.checkpoints].map(([id, checkpoint]) => [id, checkpoint.entries]));
  return records.map((record) => ({
    record,
    covered: isCovered(record, byGeneration.get(record.generation), entries.get(record.key)?.get(record.generation)),
  }));
}

function isView(generation: string, projections: readonly AnyProjection[]): boolean {
  return projections.some((projection) => projection.kind === 'view' && generationOf(projection) === generation);
}
