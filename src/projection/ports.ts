import type { Decimal } from '../records/decimal.js';
import type { ItemKey } from '../records/item-key.js';
import type { StreamfoldError } from '../core/errors.js';
import type { Deadline } from '../core/retry.js';
import type { ViewState } from './define.js';

/** group → field → amount: what one source item currently adds to a sum, kept exact. */
export type ContributionAmounts = ReadonlyMap<string, ReadonlyMap<string, Decimal>>;

/** How far one projection (one generation of its read model) has applied one source item. */
export interface CheckpointEntry {
  /** The highest sequence applied, as digits. */
  readonly sequence: string;
  /** For sums: the item's last contribution, so the next change applies only the difference. */
  readonly contribution?: ContributionAmounts | undefined;
  /**
   * The oldest parked record that still awaits a redrive, while one does. For a `wait` projection the item's
   * later records are parked behind it (`sequence` is then the newest of them); for a `skip` projection it is
   * cleared as soon as a later record applies, which makes the parked one obsolete. State and contribution are
   * what they were before it. A parked record the checkpoint has passed and that is not awaited is covered:
   * a redrive removes it and never applies it.
   */
  readonly blockedAt?: string | undefined;
  /**
   * Event logs only: events that arrived ahead of a gap in their stream's versions, kept (as the records
   * they came in) until the gap fills. `sequence` is then the last contiguous version applied.
   */
  readonly pending?: ReadonlyMap<string, unknown> | undefined;
  /** When the stream's current gap was first seen (epoch milliseconds). */
  readonly pendingSince?: number | undefined;
}

/**
 * One source item's progress in every projection of a consumer, as the planner sees it. Where each entry is
 * kept is the store's concern: a state table's view keeps its entry in its own view row (so a key whose
 * projections are views writes one item per view, with no checkpoint item at all); sums and event logs keep
 * theirs in one checkpoint item per consumer and source item, which `revision` guards.
 */
export interface Checkpoint {
  /** The checkpoint item's revision, which its next write expects; 0 when there is none. */
  readonly revision: number;
  /** Keyed by generation (`name#vN`). Entries of generations this consumer does not run are kept as they are. */
  readonly entries: ReadonlyMap<string, CheckpointEntry>;
}

/**
 * A view row as read. A row whose state was deleted stays as a tombstone (`state` undefined) while it carries
 * its projection's checkpoint entry; readers never see it.
 */
export interface StoredViewRow {
  readonly state: ViewState | undefined;
  /** The sequence its state was written at. */
  readonly sequence: string;
  /** Every write of the row moves it; the next write expects the revision it read. */
  readonly revision: number;
}

export interface LoadedState {
  readonly checkpoints: ReadonlyMap<string, Checkpoint>;
  /** By `viewRowId(generation, key)`; a missing entry means there is no row. */
  readonly viewRows: ReadonlyMap<string, StoredViewRow>;
}

export interface ViewWrite {
  readonly generation: string;
  /** `undefined` deletes the row (a row that carries its checkpoint entry stays as a tombstone). */
  readonly state: ViewState | undefined;
  /** Only the entry the row carries moves (a record parked, a block lifted): the state stays as stored. */
  readonly keepState?: boolean | undefined;
  /**
   * The revision of the row as it was read, `undefined` if there was none. The write is conditional on it: a
   * batch read is not a snapshot, and folding on a row another writer has moved since would be wrong.
   */
  readonly expectedRevision: number | undefined;
  readonly sequence: string;
  readonly approximateTime: number | undefined;
}

export interface SumDelta {
  readonly generation: string;
  readonly group: string;
  readonly shards: number;
  readonly amounts: ReadonlyMap<string, Decimal>;
}

/**
 * Everything one source item's records of a batch change: the checkpoint, the view rows, and the differences
 * to add to sum groups. Each projection's effects land atomically with its own entry, never apart from it: a
 * view row that carries its entry is one item; the checkpoint item lands in one transaction with the sum
 * deltas and with the view rows whose entries it keeps. Those parts are written independently (the store may
 * pack the transactional parts of several keys into one transaction and merge their sum deltas), so one may
 * land while another meets a moved condition: the key is then planned again from a fresh read, and since
 * each projection folds from its own entry alone, the new plan writes exactly what had not landed.
 */
export interface KeyWrite {
  readonly key: ItemKey;
  /** Records set aside as poison (or waiting behind one); parked before the write is made. */
  readonly parked: readonly ParkedRecord[];
  /** The checkpoint item's revision read; `undefined` (or 0) when there was none, which must still be the case. */
  readonly expectedRevision: number | undefined;
  /** The key's checkpoint after the write: every projection's entry, wherever the store keeps it. */
  readonly checkpoint: Checkpoint;
  /**
   * Generations whose entries their own view rows carry (a state table's views): written with the row, under
   * the row's condition, never in the checkpoint item. Every such entry that moves has its row in `views`.
   */
  readonly entriesInRows?: ReadonlySet<string> | undefined;
  /**
   * Whether the checkpoint item is written (`true` when not said): not when the only entries that move are
   * those view rows carry.
   */
  readonly checkpointChanged?: boolean | undefined;
  readonly views: readonly ViewWrite[];
  readonly sums: readonly SumDelta[];
}

export type CommitOutcome =
  | { readonly status: 'committed' }
  /** Another writer moved the checkpoint since it was read: read again and plan again. */
  | { readonly status: 'conflict' }
  /** Not written, for a reason that may pass (throttling, a network fault): try again later. */
  | { readonly status: 'retry'; readonly error: unknown }
  /**
   * Not written, and writing it again will fail the same way (a row over 400 KB, a total past 38 digits):
   * poison for the projections (generations) whose rows DynamoDB refused, or for all of the write's when it
   * cannot tell.
   */
  | {
      readonly status: 'refused';
      readonly error: StreamfoldError;
      readonly generations: readonly string[];
      /** Sum totals the store read to find the refused one: with them, each record's step is checked before sending. */
      readonly totals?: readonly KnownTotal[];
    };

/** A sum row's stored total of one field, as read after a refusal. */
export interface KnownTotal {
  readonly generation: string;
  readonly group: string;
  readonly field: string;
  readonly total: Decimal;
}

/** A write that DynamoDB would refuse, found before sending: poison for one projection (generation). */
export interface Refusal {
  readonly generation: string;
  readonly error: StreamfoldError;
}

export interface LoadOptions {
  /** `false`: the checkpoint items are not read (their entries, and revision, read as absent). */
  readonly checkpointItems?: boolean;
}

/** Where read models and checkpoints live. The DynamoDB adapter implements it, and so does the in-memory store. */
export interface ReadModelStore {
  /**
   * The keys' checkpoints and the given generations' view rows. `deadline` bounds the store's own retries
   * (throttling, unprocessed keys); `checkpointItems: false` leaves the checkpoint items unread, for a lane
   * whose projections all keep their entries in their rows.
   */
  load(keys: readonly ItemKey[], views: readonly string[], deadline?: Deadline, options?: LoadOptions): Promise<LoadedState>;
  /** One outcome per write, in order. */
  commit(writes: readonly KeyWrite[], deadline?: Deadline): Promise<CommitOutcome[]>;
  /** What DynamoDB would refuse of this write, checked before sending: the limits are the store's to know. */
  refusals?(write: KeyWrite): readonly Refusal[];
  /** Why DynamoDB would refuse this view row (too large), checked at each record's step; nothing if it would take it. */
  viewRowRefusal?(generation: string, key: ItemKey, state: ViewState): StreamfoldError | undefined;
}

/** A record a projection could not apply, kept whole with its error until a redrive applies it. */
export interface ParkedRecord {
  /** `<generation>|<item key>|<padded sequence>`: parking the same record twice writes it once. */
  readonly id: string;
  readonly generation: string;
  readonly projection: string;
  readonly key: string;
  readonly sequence: string;
  readonly eventID: string | undefined;
  /** `failed`: the record itself failed; `waiting`: it waits behind an earlier parked record of its item. */
  readonly reason: 'failed' | 'waiting';
  readonly error: { readonly code: string; readonly message: string; readonly field?: string | undefined };
  /** The record as it was delivered, to be decoded again on redrive. */
  readonly record: unknown;
  readonly parkedAt: string;
}

/** Where poison records go: a DynamoDB table by default, an SQS queue as an option, memory in tests. */
export interface DeadLetterStore {
  park(records: readonly ParkedRecord[]): Promise<void>;
  list(filter?: { readonly generation?: string; readonly key?: string }): AsyncIterable<ParkedRecord>;
  remove(records: readonly ParkedRecord[]): Promise<void>;
}

export function viewRowId(generation: string, key: ItemKey): string {
  return `${generation}\u0000${key.id}`;
}

/** Row reads, for `dump` and the read helpers: sums come back merged over their shards. */
export interface ReadModelRow {
  readonly key: unknown;
  readonly value: Record<string, unknown>;
}

export interface ReadModelReader {
  rows(generation: string, kind: 'view' | 'sum'): AsyncIterable<ReadModelRow>;
}

/** A gap in an event stream's versions that has stayed open past its log's timeout. */
export interface GapReport {
  readonly projection: string;
  readonly stream: string;
  /** The first version that has not arrived. */
  readonly missing: string;
  /** The versions held behind it. */
  readonly held: readonly string[];
  readonly openForMs: number;
}

/** Which version of each projection readers use. */
export interface GenerationRegistry {
  current(name: string): Promise<number | undefined>;
  /**
   * Makes `version` current unless a newer one already is (a rebuild of an older version that finishes late
   * must not hand readers back to it). Answers the version readers use afterwards.
   */
  promote(name: string, version: number): Promise<number>;
  /** Makes `version` current only if the projection has no current version yet (its first deployment). */
  adopt(name: string, version: number): Promise<void>;
  /**
   * Records, once, that a live consumer of `version` runs as of `at` (epoch ms): it reads every change made
   * after that. A rebuild from an export checks the export's time against it.
   */
  markLive?(name: string, version: number, at: number): Promise<void>;
  /** When a live consumer of `version` was first recorded running, if one was. */
  liveSince?(name: string, version: number): Promise<number | undefined>;
}
