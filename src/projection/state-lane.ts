import { StreamfoldError } from '../core/errors.js';
import type { DecodeResult } from '../records/change-event.js';
import { decodeRecord } from '../records/decode.js';
import { itemKeyFromKeys, type ItemKey } from '../records/item-key.js';
import { decodeKinesisRecord, isKinesisRecord } from '../records/kinesis.js';
import { orderByKey, type KeyRun, type RunStep } from '../records/order.js';
import { compareSequences, REPLAY_SEQUENCE } from '../records/sequence.js';
import { assertDistinctProjections, generationOf, type Projection } from './define.js';
import type { Lane, LaneBatch, ParkedStanding, PlanContext } from './lane.js';
import { planKey, type KeyPlan } from './plan.js';
import { unplannableParkedStep } from './parked.js';
import type { CheckpointEntry, LoadedState, ParkedRecord } from './ports.js';

/**
 * The lane of a state table: runs per item, ordered by stream sequence; a view or sum per projection. A
 * record whose item cannot be told holds back every run past it, since it may be any item's.
 */
export class StateLane implements Lane {
  readonly kind = 'state';
  readonly viewGenerations: readonly string[];
  readonly usesCheckpointItem: boolean;
  readonly unplacedIsBarrier = true;
  private readonly entriesInRows: ReadonlySet<string>;

  constructor(readonly projections: readonly Projection[]) {
    assertDistinctProjections(projections);
    this.viewGenerations = projections.filter((projection) => projection.kind === 'view').map(generationOf);
    this.usesCheckpointItem = projections.some((projection) => projection.kind !== 'view');
    this.entriesInRows = new Set(this.viewGenerations);
  }

  order(decoded: readonly DecodeResult[]): LaneBatch {
    return { ...orderByKey(decoded), misuse: [] };
  }

  plan(run: KeyRun, loaded: LoadedState, context: PlanContext): KeyPlan {
    return planKey(run, loaded, this.projections, context, this.entriesInRows);
  }

  /** The canonical key id is the key's wire form, so the key comes back from it whole. */
  parkedKey(keyId: string): ItemKey {
    return itemKeyFromKeys(JSON.parse(keyId) as unknown, 'key');
  }

  parkedStep(record: ParkedRecord, index: number): RunStep {
    const decoded = isKinesisRecord(record.record) ? decodeKinesisRecord(record.record, index) : decodeRecord(record.record, index);
    if (decoded.ok && compareSequences(decoded.event.sequence, record.sequence) === 0) {
      // A record a rebuild parked is a replay still: the projection sees it as the rebuild would have shown it.
      const event = record.sequence === REPLAY_SEQUENCE ? { ...decoded.event, replay: true } : decoded.event;
      return { type: 'event', sequence: record.sequence, identifier: decoded.identifier, event, record: record.record };
    }
    const error = decoded.ok
      ? new StreamfoldError('MALFORMED_RECORD', `the parked record says sequence ${decoded.event.sequence}, it was parked at ${record.sequence}`)
      : decoded.error;
    return unplannableParkedStep(record, index, error);
  }

  standing(entry: CheckpointEntry | undefined, record: Pick<ParkedRecord, 'sequence'>): ParkedStanding {
    if (entry === undefined || compareSequences(record.sequence, entry.sequence) > 0) return 'ahead';
    if (entry.blockedAt !== undefined && compareSequences(record.sequence, entry.blockedAt) >= 0) return 'awaiting';
    return 'covered';
  }
}
