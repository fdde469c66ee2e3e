/**
 * A `Docs` table keyed by bytes (`id`, binary) and a number (`slot`), whose items carry binaries everywhere
 * (`blob`, a binary set, a binary inside a map and a list), notes that make a history view outgrow DynamoDB's
 * 400 KB, amounts whose totals need more than 38 digits, and a stage that the live projections do not know
 * yet. One heavy item changes between two notes of 240 KB of noise (which its history does not take): a
 * record too large to park whole, since both images are in it.
 */
export interface DocKey {
  readonly id: Uint8Array;
  readonly slot: number;
}

export interface Doc extends DocKey {
  readonly stage: Stage;
  readonly group: string;
  /** Exact digits. */
  readonly amount: string;
  /** Counts the item's writes: which record a history entry came from. */
  readonly rev: number;
  /** 1 KiB of text (the heavy item's: 240 KiB of noise), which a history row takes `copies` times (maybe 0). */
  readonly note: string;
  readonly copies: number;
  readonly blob: Uint8Array;
  readonly tags: readonly Uint8Array[];
  readonly meta: { readonly raw: Uint8Array; readonly list: readonly [Uint8Array, string] };
}

export type DocOperation = { readonly type: 'put'; readonly doc: Doc } | { readonly type: 'delete'; readonly key: DocKey };

/** `gone` is the stage the live projections' schema does not know yet: their records wait for the fix. */
export const STAGES = ['draft', 'live', 'gone'] as const;
export type Stage = (typeof STAGES)[number];
export const GROUPS = ['g1', 'g2', 'g3', 'g4'] as const;
/**
 * A history row grows by `note` × `copies` a change: always a whole number of these, so a row is well clear
 * of DynamoDB's 400 KB or well past it, whatever the rest of the row weighs.
 */
export const NOTE_UNIT = 16 * 1024;
const NOTE_BYTES = 1024;
/** The heavy item's notes: 15 units of noise each, so a change between two is over 350 KB even gzipped. */
const HEAVY_UNITS = 15;
/** Every total the adversary seeds starts here: a record's amount with a units digit then needs 39 digits. */
export const ANCHOR_AMOUNT = 5n * 10n ** 38n;

export interface DocsWorkload {
  readonly operations: DocOperation[];
  readonly heavy: DocKey;
}

/**
 * A seeded mix of inserts, changes and deletes. Amounts are multiples of 10^10 (below 10^22), except
 * "poison" ones, `k·10^37 + d` with a units digit: 38 digits, storable alone, but past 38 digits in any total
 * that holds the anchor. An item's poison amount is always replaced (or the item deleted) by its next write,
 * so no two records of an item in a row are poison for the same reason.
 */
export function docsWorkload(random: () => number, options: { items: number; operations: number }): DocsWorkload {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const bytes = (min: number, max: number) => new Uint8Array(Array.from({ length: min + Math.floor(random() * (max - min + 1)) }, () => Math.floor(random() * 256)));
  const keys: DocKey[] = Array.from({ length: options.items }, (_, index) => {
    // Pairs share an id under two slots; among the ids are all-zero and all-0xff bytes.
    const pair = Math.floor(index / 2);
    const id = pair === 0 ? new Uint8Array(16) : pair === 1 ? new Uint8Array(16).fill(255) : idOf(pair, random);
    return { id, slot: 1 + (index % 2) };
  });
  const state = keys.map(() => ({ doc: undefined as Doc | undefined, rev: 0 }));
  const poison = (doc: Doc | undefined) => doc !== undefined && !isPlainAmount(doc.amount);
  const amount = (allowPoison: boolean) =>
    allowPoison && random() < 0.15
      ? (BigInt(1 + Math.floor(random() * 9)) * 10n ** 37n + BigInt(1 + Math.floor(random() * 9))).toString()
      : (BigInt(1 + Math.floor(random() * 1e12)) * 10n ** 10n).toString();
  const copies = () => (pick([0, 0, 0, 0, 1, 1, 1, 2, 2, 4, 8]) * NOTE_UNIT) / NOTE_BYTES;
  const tags = () => {
    const distinct = new Map<string, Uint8Array>();
    const count = 1 + Math.floor(random() * 3);
    while (distinct.size < count) {
      const tag = bytes(1, 6);
      distinct.set(Buffer.from(tag).toString('hex'), tag);
    }
    return [...distinct.values()];
  };
  const operations: DocOperation[] = [];
  const heavy: DocKey = { id: idOf(99, random), slot: 1 };
  const heavyAt = Math.floor(options.operations / 2);
  while (operations.length < options.operations) {
    if (operations.length === heavyAt) operations.push(...heavyOperations(heavy, bytes));
    const index = Math.floor(random() * keys.length);
    const item = state[index];
    const key = keys[index];
    if (item === undefined || key === undefined) continue;
    item.rev += 1;
    const rev = item.rev;
    const previous = item.doc;
    const roll = random();
    if (previous !== undefined && (roll < 0.12 || (poison(previous) && roll < 0.3))) {
      item.doc = undefined;
      operations.push({ type: 'delete', key });
      continue;
    }
    const note = noteOf(`${index}.${rev}|`);
    const doc: Doc =
      previous === undefined
        ? { ...key, stage: 'draft', group: pick(GROUPS), amount: amount(false), rev, note, copies: copies(), blob: bytes(0, 40), tags: tags(), meta: { raw: bytes(0, 8), list: [bytes(1, 4), 'x'] } }
        : {
            ...previous,
            rev,
            note,
            copies: copies(),
            stage: previous.stage === 'gone' ? (random() < 0.6 ? 'live' : 'gone') : random() < 0.3 ? pick(['draft', 'live', 'live', 'gone'] as const) : previous.stage,
            group: random() < 0.2 ? pick(GROUPS) : previous.group,
            amount: poison(previous) || random() < 0.4 ? amount(!poison(previous)) : previous.amount,
            blob: random() < 0.3 ? bytes(0, 40) : previous.blob,
            tags: random() < 0.2 ? tags() : previous.tags,
            meta: random() < 0.2 ? { raw: bytes(0, 8), list: [bytes(1, 4), 'y'] } : previous.meta,
          };
    item.doc = doc;
    operations.push({ type: 'put', doc });
  }
  return { operations, heavy };
}

/** Whether an amount is a plain one (a multiple of 10^10), not one whose totals overflow. */
export function isPlainAmount(amount: string): boolean {
  return BigInt(amount) % 10n ** 10n === 0n;
}

/** 1 KiB of text repeating a label that names the item and write. */
function noteOf(label: string): string {
  return label.repeat(Math.ceil(NOTE_BYTES / label.length)).slice(0, NOTE_BYTES);
}

function idOf(seed: number, random: () => number): Uint8Array {
  return new Uint8Array(Array.from({ length: 16 }, (_, index) => (index === 0 ? seed : Math.floor(random() * 256))));
}

/**
 * Small, then 240 KB of noise, then another 240 KB of noise in a stage the live projections refuse: parked
 * in parts until a redrive with the fixed projections applies it. The history takes none of the noise.
 */
function heavyOperations(key: DocKey, bytes: (min: number, max: number) => Uint8Array): DocOperation[] {
  const length = HEAVY_UNITS * NOTE_UNIT;
  const noise = () => Buffer.from(bytes(length, length)).toString('base64').slice(0, length);
  const base: Doc = { ...key, stage: 'draft', group: 'g1', amount: '70000000000', rev: 1, note: '', copies: 0, blob: bytes(1, 8), tags: [bytes(1, 3)], meta: { raw: bytes(1, 4), list: [bytes(1, 4), 'h'] } };
  return [
    { type: 'put', doc: base },
    { type: 'put', doc: { ...base, rev: 2, note: noise(), stage: 'live' } },
    { type: 'put', doc: { ...base, rev: 3, note: noise(), stage: 'gone' } },
  ];
}

/** An event of the `DocEvents` log: binaries in its payload, and a type the live projection does not know. */
export interface DocEvent {
  readonly stream: string;
  readonly version: number;
  readonly type: 'Opened' | 'Noted' | 'Sealed' | 'Archived';
  readonly payload: { readonly blob: Uint8Array; readonly n: number; readonly parts: readonly Uint8Array[] };
}

/**
 * Events of a few streams, versions 1, 2, 3, … each, written in an interleaved order. `Archived` is the type
 * the live projection's schema does not know yet.
 */
export function docEventsWorkload(random: () => number, options: { streams: number; events: number }): DocEvent[] {
  const bytes = (min: number, max: number) => new Uint8Array(Array.from({ length: min + Math.floor(random() * (max - min + 1)) }, () => Math.floor(random() * 256)));
  const versions = Array.from({ length: options.streams }, () => 0);
  const events: DocEvent[] = [];
  while (events.length < options.events) {
    const index = Math.floor(random() * options.streams);
    const version = (versions[index] ?? 0) + 1;
    versions[index] = version;
    const roll = random();
    const type = version === 1 ? 'Opened' : roll < 0.07 ? 'Archived' : roll < 0.2 ? 'Sealed' : 'Noted';
    const parts = [...new Map(Array.from({ length: 1 + Math.floor(random() * 2) }, () => bytes(1, 4)).map((part) => [Buffer.from(part).toString('hex'), part])).values()];
    events.push({ stream: `s-${index}`, version, type, payload: { blob: bytes(0, 24), n: Math.floor(random() * 1000), parts } });
  }
  return events;
}
