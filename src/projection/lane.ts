import type { StreamfoldError } from '../core/errors.js';
import type { ChangeEvent, DecodeResult } from '../records/change-event.js';
import type { Decimal } from '../records/decimal.js';
import type { ItemKey } from '../records/item-key.js';
import type { ViewState } from './define.js';
import type { KeyRun, OrderedBatch, RunStep } from '../records/order.js';
import type { KeyPlan } from './plan.js';
import type { CheckpointEntry, LoadedState, ParkedRecord } from './ports.js';
import type { NamedProjection } from './runtime.js';
import type { ImageParser } from './typed-event.js';

/** A record of an append-only input that is not an insert: reported and parked, never folded. */
export interface Misuse {
  readonly event: ChangeEvent;
  readonly record: unknown;
  readonly identifier: string;
}

/** A batch as a lane cuts it: per-key runs in the lane's order, what it could not place, and misuse. */
export interface LaneBatch extends OrderedBatch {
  readonly misuse: readonly Misuse[];
}

/** Records DynamoDB refused (or would refuse) to take: by generation, then by sequence, with the reason. */
export type RefusedRecords = ReadonlyMap<string, ReadonlyMap<string, StreamfoldError>>;

export interface PlanContext {
  /** Whether records that can never succeed are parked (the key goes on) or reported as failed. */
  readonly parking: boolean;
  readonly now: () => number;
  readonly parser: ImageParser;
  /** Records that must be parked for one projection, because the write they make is refused for good. */
  readonly refused: RefusedRecords;
  /**
   * A redrive: only this generation is planned, with its block lifted, from the parked records it is given.
   * Every other projection of the key is left as it is.
   */
  readonly lifted?: string | undefined;
  /** Each step's view row is checked against the store's limits, as if each record were written alone. */
  readonly checkRow?: ((generation: string, key: ItemKey, state: ViewState) => StreamfoldError | undefined) | undefined;
  /** Sum totals known from a refusal in this apply: by generation, group and field. */
  readonly totals?: KnownTotals | undefined;
}

/** Stored sum totals, by generation, then group, then field. */
export type KnownTotals = ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, Decimal>>>;

/** Where a parked record stands against its projection's checkpoint. */
export type ParkedStanding =
  /** Still to be applied: a redrive takes it. */
  | 'awaiting'
  /** The checkpoint has passed it and does not wait for it: applied, skipped or overtaken. Removed, never applied. */
  | 'covered'
  /** Parked by a writer whose checkpoint write has not landed (yet): left alone. */
  | 'ahead';

/**
 * One kind of input (a state table, an event log) and the projections fed from it. The lane owns how a batch
 * is cut into runs, how one key's run is planned, whether an unplaceable record holds runs back, and how a
 * parked record is read back. The live consumer, redrive, rebuild and verify all go through a lane.
 */
export interface Lane {
  readonly kind: 'state' | 'event-log';
  readonly projections: readonly NamedProjection[];
  /** The generations whose view rows a plan reads. */
  readonly viewGenerations: readonly string[];
  /** Whether some projection keeps its entry in the checkpoint item (a state table's views keep theirs in their rows). */
  readonly usesCheckpointItem: boolean;
  /**
   * Whether a record whose key cannot be read holds back every run past its position (unless it is parked):
   * it may belong to any of them. State tables order by arrival; event logs by version, so they need not.
   */
  readonly unplacedIsBarrier: boolean;
  order(decoded: readonly DecodeResult[]): LaneBatch;
  plan(run: KeyRun, loaded: LoadedState, context: PlanContext): KeyPlan;
  /** The key a parked record's key id names. */
  parkedKey(keyId: string): ItemKey;
  /** A parked record as the step it was, to be planned again. */
  parkedStep(record: ParkedRecord, index: number): RunStep;
  standing(entry: CheckpointEntry | undefined, record: Pick<ParkedRecord, 'sequence'>): ParkedStanding;
}
