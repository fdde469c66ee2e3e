import { StreamfoldError } from '../core/errors.js';
import { assertDistinctProjections, generationOf } from '../projection/define.js';
import type { Lane, LaneBatch, ParkedStanding, PlanContext } from '../projection/lane.js';
import type { KeyPlan } from '../projection/plan.js';
import { unplannableParkedStep } from '../projection/parked.js';
import type { CheckpointEntry, LoadedState, ParkedRecord } from '../projection/ports.js';
import type { DecodeResult } from '../records/change-event.js';
import { decodeRecord } from '../records/decode.js';
import type { ItemKey } from '../records/item-key.js';
import type { KeyRun, RunStep } from '../records/order.js';
import type { EventLog, EventProjection } from './define.js';
import { planStream } from './plan.js';
import { locateEvent, orderByStream, streamIdOf, streamKey } from './streams.js';

/**
 * The lane of an event log: runs per stream, ordered by version; an event ahead of a gap waits in the
 * checkpoint. Versions, not arrival, order a stream, so a record that cannot be placed holds nothing back.
 */
export class EventLogLane implements Lane {
  readonly kind = 'event-log';
  readonly viewGenerations: readonly string[];
  /** Every entry of an event log, its views' too, is kept in the checkpoint item, with the events held behind a gap. */
  readonly usesCheckpointItem = true;
  readonly unplacedIsBarrier = false;

  constructor(
    readonly log: EventLog,
    readonly projections: readonly EventProjection[],
  ) {
    assertDistinctProjections(projections);
    this.viewGenerations = projections.filter((projection) => projection.kind === 'event-view').map(generationOf);
  }

  order(decoded: readonly DecodeResult[]): LaneBatch {
    return orderByStream(decoded, this.log);
  }

  plan(run: KeyRun, loaded: LoadedState, context: PlanContext): KeyPlan {
    return planStream(run, loaded, this.projections, this.log, context);
  }

  parkedKey(keyId: string): ItemKey {
    return streamKey(this.log, streamIdOf(keyId));
  }

  /** A parked event as the step of a stream run again: decoded, placed at its version. */
  parkedStep(record: ParkedRecord, index: number): RunStep {
    const decoded = decodeRecord(record.record, index);
    if (decoded.ok) {
      const located = locateEvent(decoded.event, this.log, index);
      if (!(located instanceof StreamfoldError)) {
        return {
          type: 'event',
          sequence: located.version,
          identifier: decoded.identifier,
          event: { ...decoded.event, key: located.key, sequence: located.version },
          record: record.record,
        };
      }
    }
    const error = decoded.ok ? new StreamfoldError('MALFORMED_RECORD', 'the parked event no longer names its stream') : decoded.error;
    return unplannableParkedStep(record, index, error);
  }

  /** Versions up to the last contiguous one applied are covered (applied, or skipped past); later ones await. */
  standing(entry: CheckpointEntry | undefined, record: Pick<ParkedRecord, 'sequence'>): ParkedStanding {
    return entry !== undefined && BigInt(record.sequence) <= BigInt(entry.sequence) ? 'covered' : 'awaiting';
  }
}
