import * as z from 'zod';
import { defineEventLog, defineEventProjection, type EventProjection } from '../../src/eventlog/define.js';
import { defineProjection, type Projection } from '../../src/projection/define.js';
import { exactNumber } from '../../src/projection/schemas.js';

/**
 * The adversary's projections of the `Docs` table. The live history has a bug: its schema does not know the
 * stage `gone`, so those records are parked until a redrive runs the fixed one. The rebuild runs an older
 * build still, whose stage counts have the same bug: what it parks holds the scanned binaries as bytes. A fix
 * changes nothing else: a record both versions accept gives the same result in both.
 */
const bytes = z.instanceof(Uint8Array);

const docSchema = (stages: readonly [string, ...string[]]) =>
  z.object({
    id: bytes,
    slot: z.number().int(),
    stage: z.enum(stages),
    group: z.string(),
    amount: exactNumber,
    rev: z.number().int(),
    note: z.string(),
    copies: z.number().int(),
    blob: bytes,
    tags: z.set(bytes),
    meta: z.object({ raw: bytes, list: z.tuple([bytes, z.string()]) }),
  });

const LiveDoc = docSchema(['draft', 'live']);
const FixedDoc = docSchema(['draft', 'live', 'gone']);
type Doc = z.infer<typeof FixedDoc>;

export interface DocHistory {
  /** `<kind>:<rev>` of every change applied, in order: a record applied twice or out of order shows here. */
  readonly entries: readonly string[];
  /** Every change's note, `copies` times: the row grows with history, past DynamoDB's 400 KB. */
  readonly notes: readonly string[];
  readonly blob: Uint8Array;
  readonly tags: readonly Uint8Array[];
  readonly raw: Uint8Array;
  readonly first: Uint8Array;
}

/**
 * A note taken `copies` times, made once: the runtime folds a record again on every retry, and measuring a
 * fresh 128 KB string each time (as the adapter's size check must) would be most of the adversary's time.
 */
const pages = new Map<string, string>();
function pageOf(note: string, copies: number): string {
  const key = `${copies}:${note}`;
  let page = pages.get(key);
  if (page === undefined) {
    page = note.repeat(copies);
    Buffer.byteLength(page); // flattens the string once
    pages.set(key, page);
  }
  return page;
}

/** Per doc, its whole history (removes included): a view that only grows, and waits behind poison. */
const docHistory = (schema: typeof FixedDoc) =>
  defineProjection({
    name: 'doc-history',
    version: 1,
    kind: 'view',
    schema,
    evolve: (state: DocHistory | undefined, event): DocHistory => {
      const image: Doc | undefined = event.newImage;
      const rev = image?.rev ?? event.oldImage?.rev;
      return {
        entries: [...(state?.entries ?? []), `${event.kind}:${rev}`],
        notes: [...(state?.notes ?? []), image === undefined ? '' : pageOf(image.note, image.copies)],
        blob: image?.blob ?? state?.blob ?? new Uint8Array(),
        tags: image === undefined ? (state?.tags ?? []) : [...image.tags],
        raw: image?.meta.raw ?? state?.raw ?? new Uint8Array(),
        first: image?.meta.list[0] ?? state?.first ?? new Uint8Array(),
      };
    },
  });

/** Docs per stage, waiting behind poison. */
const stageCounts = (schema: typeof FixedDoc) =>
  defineProjection({ name: 'stage-counts', version: 1, kind: 'sum', schema, contribute: (doc) => ({ [doc.stage]: { docs: 1 } }) });

/** Amounts per group, skipping poison: a total past 38 digits is refused, the doc's next change goes on. */
const groupTotals = defineProjection({
  name: 'group-totals',
  version: 1,
  kind: 'sum',
  schema: FixedDoc,
  onPoison: 'skip',
  contribute: (doc) => ({ [doc.group]: { amount: doc.amount, docs: 1 } }),
});

const broken = LiveDoc as unknown as typeof FixedDoc;
export const liveDocProjections = [docHistory(broken), stageCounts(FixedDoc), groupTotals] as Projection[];
/** The sums, as the rebuild's older build has them. */
export const rebuiltDocProjections = [stageCounts(broken), groupTotals] as Projection[];
export const fixedDocProjections = [docHistory(FixedDoc), stageCounts(FixedDoc), groupTotals] as Projection[];

/** The `DocEvents` log's events; the live schema does not know `Archived` yet. */
const payload = z.object({ blob: bytes, n: z.number().int(), parts: z.set(bytes) });
const eventOf = <Type extends string>(type: Type) => z.object({ type: z.literal(type), payload });
const liveEvents = z.discriminatedUnion('type', [eventOf('Opened'), eventOf('Noted'), eventOf('Sealed')]);
const fixedEvents = z.discriminatedUnion('type', [eventOf('Opened'), eventOf('Noted'), eventOf('Sealed'), eventOf('Archived')]);

export interface StreamHistory {
  /** `<version>:<type>` of every event, in version order. */
  readonly events: readonly string[];
  readonly blobs: readonly Uint8Array[];
  readonly parts: readonly Uint8Array[];
}

/**
 * Per stream, every event in version order with its binaries: events arrive out of order (each is its own
 * item), so those ahead of a gap are held in the checkpoint, binaries and all, until it fills.
 */
const streamHistory = (events: typeof fixedEvents) =>
  defineEventProjection({
    name: 'stream-history',
    version: 1,
    kind: 'event-view',
    log: defineEventLog({ streamId: 'stream', version: 'version', type: 'type', payload: 'payload', events }),
    evolve: (state: StreamHistory | undefined, event): StreamHistory => ({
      events: [...(state?.events ?? []), `${event.version}:${event.type}`],
      blobs: [...(state?.blobs ?? []), event.payload.blob],
      parts: [...(state?.parts ?? []), ...event.payload.parts],
    }),
  }) as EventProjection;

export const liveStreamHistory = streamHistory(liveEvents as unknown as typeof fixedEvents);
export const fixedStreamHistory = streamHistory(fixedEvents);
