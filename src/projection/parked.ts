import type { StreamfoldError } from '../core/errors.js';
import type { RunStep } from '../records/order.js';
import { padSequence } from '../records/sequence.js';
import type { ParkedRecord } from './ports.js';

/** What is parked, and where: the rest of a parked record (its id, the error's fields, the time) follows. */
type ParkingPlace = Omit<ParkedRecord, 'id' | 'error' | 'parkedAt'>;

/**
 * The one way a parked record is made. Its id is its generation, item and sequence, so parking the same
 * record twice writes it once.
 */
export function parkedRecordOf(place: ParkingPlace, error: StreamfoldError, now: number): ParkedRecord {
  return {
    id: parkedId(place.generation, place.key, place.sequence),
    generation: place.generation,
    projection: place.projection,
    key: place.key,
    sequence: place.sequence,
    eventID: place.eventID,
    reason: place.reason,
    error: { code: error.code, message: error.message, field: error.field },
    record: place.record,
    parkedAt: new Date(now).toISOString(),
  };
}

function parkedId(generation: string, keyId: string, sequence: string): string {
  return `${generation}|${keyId}|${padSequence(sequence)}`;
}

export function eventIdOf(step: RunStep | undefined): string | undefined {
  if (step === undefined) return undefined;
  return step.type === 'event' ? step.event.eventID : step.failure.eventID;
}

/** A parked record that cannot be planned again as the step it was: it fails where it stands, with `error`. */
export function unplannableParkedStep(record: ParkedRecord, index: number, error: StreamfoldError): RunStep {
  return {
    type: 'undecodable',
    sequence: record.sequence,
    failure: { index, identifier: undefined, eventID: record.eventID, key: undefined, sequence: record.sequence, error, record: record.record },
  };
}
