import type * as z from 'zod';
import { StreamfoldError } from '../core/errors.js';
import type { Item } from '../records/attribute-value.js';
import type { ChangeKind } from '../records/change-event.js';
import type { DecimalInput } from '../records/decimal.js';

/** What `evolve` sees: a change event whose images are typed by the projection's schema. */
export interface ProjectionEvent<Image> {
  readonly eventID: string;
  readonly kind: ChangeKind;
  /** The source item's key attributes. */
  readonly key: Item;
  readonly sequence: string;
  /** Epoch milliseconds, rounded down to the second by DynamoDB Streams. */
  readonly approximateTime: number | undefined;
  readonly newImage: Image | undefined;
  readonly oldImage: Image | undefined;
  readonly ttlExpiry: boolean;
  readonly replay: boolean;
}

/** A view's row as stored: any value DynamoDB can store (numbers may be bigint or Decimal to stay exact). */
export type ViewState = Record<string, unknown>;

/** `{ [groupKey]: { [field]: amount } }`: what one item adds to the groups of a sum. */
export type Contribution = Record<string, Record<string, DecimalInput>>;

interface ProjectionBase<Schema extends z.ZodType> {
  /** Names the read model; letters, digits, `-`, `_` and `.`. */
  readonly name: string;
  /** A new version writes a new generation of the read model, so a rebuild never truncates the live one. */
  readonly version: number;
  /** The source item image, validated once per record before the projection sees it. */
  readonly schema: Schema;
  /**
   * What happens to an item's later records after one of its records is parked as poison: `wait` (the
   * default) parks them too, in order, until a redrive applies them all; `skip` applies them, leaving the
   * poison record out.
   */
  readonly onPoison?: PoisonPolicy;
}

export type PoisonPolicy = 'wait' | 'skip';

export interface ViewProjection<Schema extends z.ZodType = z.ZodType, State extends object = object>
  extends ProjectionBase<Schema> {
  readonly kind: 'view';
  /**
   * Folds one event into the item's row: `undefined` in means there is no row yet, `undefined` out deletes
   * it. Must be pure and must not mutate `state`: the runtime may fold the same events again after a retry.
   */
  evolve(state: State | undefined, event: ProjectionEvent<z.output<Schema>>): State | undefined;
  /**
   * `image` when a row follows from the item's latest image alone, so a table scan can rebuild it;
   * `history` (the default) when it depends on earlier changes, which a scan of a state table cannot see.
   */
  readonly dependsOn?: 'image' | 'history';
  /**
   * Row fields that a scan cannot reproduce (such as the time of the last change): `verify` leaves them out.
   */
  readonly volatileFields?: readonly string[];
}

export interface SumProjection<Schema extends z.ZodType = z.ZodType> extends ProjectionBase<Schema> {
  readonly kind: 'sum';
  /**
   * What the item's current image adds to each group. The runtime keeps each item's last contribution and
   * applies only the difference, so moving an item to another group moves its contribution.
   */
  contribute(image: z.output<Schema>, key: Item): Contribution;
  /** Spreads each group over this many sub-rows, so a hot group takes more writes per second. */
  readonly shards: number;
}

export type Projection = ViewProjection<z.ZodType, object> | SumProjection<z.ZodType>;

type ViewDefinition<Schema extends z.ZodType, State extends object> = Omit<
  ViewProjection<Schema, State>,
  'kind'
> & { readonly kind: 'view' };

type SumDefinition<Schema extends z.ZodType> = Omit<SumProjection<Schema>, 'kind' | 'shards'> & {
  readonly kind: 'sum';
  readonly shards?: number;
};

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
export const MAX_SUM_SHARDS = 100;

/**
 * Declares a projection: plain data and pure functions, no I/O. The runtime does the reading, the
 * checkpointing and the writing.
 */
export function defineProjection<Schema extends z.ZodType, State extends object>(
  definition: ViewDefinition<Schema, State>,
): ViewProjection<Schema, State>;
export function defineProjection<Schema extends z.ZodType>(definition: SumDefinition<Schema>): SumProjection<Schema>;
export function defineProjection(
  definition: ViewDefinition<z.ZodType, object> | SumDefinition<z.ZodType>,
): ViewProjection | SumProjection {
  assertNameAndVersion(definition);
  if (definition.kind === 'view') {
    if (typeof definition.evolve !== 'function') throw invalid(definition.name, 'a view needs evolve()');
    return Object.freeze({ ...definition });
  }
  if (definition.kind === 'sum') {
    if (typeof definition.contribute !== 'function') throw invalid(definition.name, 'a sum needs contribute()');
    const shards = definition.shards ?? 1;
    if (!Number.isSafeInteger(shards) || shards < 1 || shards > MAX_SUM_SHARDS) {
      throw invalid(definition.name, `shards must be an integer from 1 to ${MAX_SUM_SHARDS}`);
    }
    return Object.freeze({ ...definition, shards });
  }
  throw invalid(String((definition as { name?: unknown }).name), 'kind must be "view" or "sum"');
}

/** Every projection's name names its read model, and its version a generation of it. */
export function assertNameAndVersion(definition: { readonly name: string; readonly version: number }): void {
  if (!NAME_PATTERN.test(definition.name)) {
    throw invalid(definition.name, 'a name is 1 to 100 letters, digits, ".", "_" or "-"');
  }
  if (!Number.isSafeInteger(definition.version) || definition.version < 1) {
    throw invalid(definition.name, 'version must be a positive integer');
  }
}

/** The read model a projection writes: its name and version. */
export function generationOf(projection: Pick<Projection, 'name' | 'version'>): string {
  return `${projection.name}#v${projection.version}`;
}

/**
 * Several projections in one consumer must not share a read model. Two versions of one projection may run
 * side by side (while the newer one is rebuilt), since each writes its own generation.
 */
export function assertDistinctProjections(projections: readonly Pick<Projection, 'name' | 'version'>[]): void {
  const seen = new Set<string>();
  for (const projection of projections) {
    const generation = generationOf(projection);
    if (seen.has(generation)) throw invalid(projection.name, `two projections of one consumer share ${generation}`);
    seen.add(generation);
  }
  if (projections.length === 0) {
    throw new StreamfoldError('INVALID_PROJECTION', 'a consumer needs at least one projection');
  }
}

function invalid(name: string, message: string): StreamfoldError {
  return new StreamfoldError('INVALID_PROJECTION', message, { projection: name });
}
