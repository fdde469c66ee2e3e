import type { Logger } from '../core/logging.js';
import { generationOf } from '../projection/define.js';
import { isStateProjection, type AnyProjection } from '../catalog/kinds.js';
import { entryWrite } from '../projection/key-write.js';
import type { DeadLetterStore, ParkedRecord, ReadModelStore } from '../projection/ports.js';
import { itemKeyFromKeys } from '../records/item-key.js';

/** Attempts at lifting one item's block when the live consumer keeps moving its checkpoint. */
const LIFT_ATTEMPTS = 5;

export interface PurgeResult {
  readonly removed: readonly ParkedRecord[];
  /** Items of a state projection whose block was lifted: their next records apply instead of waiting. */
  readonly unblocked: number;
  /** Event streams left waiting at a purged version: an event log cannot skip a version. */
  readonly streamsStillWaiting: number;
}

/**
 * Removes parked records for good. A record parked as poison blocks its item (the item's later records wait
 * behind it, parked as `waiting`): once nothing of that item is parked any more for that projection, the
 * block is lifted in its checkpoint, with a write conditional on the checkpoint as read, so a live consumer
 * that parked something meanwhile wins and the item stays blocked behind what it parked.
 */
export async function purgeParked(
  records: readonly ParkedRecord[],
  projections: readonly AnyProjection[],
  deadLetters: DeadLetterStore,
  store: ReadModelStore,
  logger: Logger,
): Promise<PurgeResult> {
  await deadLetters.remove(records);
  const byGeneration = new Map(projections.map((projection) => [generationOf(projection), projection]));
  const items = new Map<string, { generation: string; key: string }>();
  for (const record of records) items.set(`${record.generation}\u0000${record.key}`, { generation: record.generation, key: record.key });
  let unblocked = 0;
  let streamsStillWaiting = 0;
  for (const { generation, key } of items.values()) {
    const projection = byGeneration.get(generation);
    if (projection === undefined) continue;
    if (!isStateProjection(projection)) {
      streamsStillWaiting += 1;
      continue;
    }
    if (await liftBlock(generation, projection.kind === 'view', key, deadLetters, store, logger)) unblocked += 1;
  }
  return { removed: records, unblocked, streamsStillWaiting };
}

async function liftBlock(
  generation: string,
  isView: boolean,
  keyId: string,
  deadLetters: DeadLetterStore,
  store: ReadModelStore,
  logger: Logger,
): Promise<boolean> {
  const key = itemKeyFromKeys(JSON.parse(keyId) as unknown, 'key');
  for (let attempt = 0; attempt < LIFT_ATTEMPTS; attempt += 1) {
    // The checkpoint first, then the list: whatever is parked after this read moves the checkpoint. A view's
    // entry is kept in its row, which is read with it.
    const loaded = await store.load([key], isView ? [generation] : []);
    const entry = loaded.checkpoints.get(key.id)?.entries.get(generation);
    if (entry?.blockedAt === undefined) return false;
    for await (const _left of deadLetters.list({ generation, key: key.id })) return false;
    const [outcome] = await store.commit([entryWrite(key, loaded, generation, { ...entry, blockedAt: undefined })]);
    if (outcome?.status === 'committed') return true;
    // A conflict (the checkpoint moved) or a throttle: read again. Anything else will not pass by retrying.
    if (outcome?.status !== 'conflict' && outcome?.status !== 'retry') {
      logger.warn({ generation, key: key.id, outcome: outcome?.status }, 'could not lift the block of a purged item');
      return false;
    }
  }
  return false;
}
