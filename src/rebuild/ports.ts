/** One page of a table scan: items as DynamoDB attribute maps, and where the next page starts. */
export interface ScanPage {
  readonly items: readonly Record<string, unknown>[];
  /** Opaque (JSON of the last evaluated key); `undefined` when the segment is done. */
  readonly lastKey: string | undefined;
}

/** Reading a source table in parallel segments: what the DynamoDB scanner implements. */
export interface SourceScanner {
  readonly table: string;
  /** The table's key attribute names: the partition key, then the sort key if there is one. */
  keyAttributes(): Promise<string[]>;
  /** DynamoDB's own estimate (refreshed about every six hours), for progress only. */
  approximateItemCount(): Promise<number | undefined>;
  scan(segment: number, totalSegments: number, startKey: string | undefined, limit: number): Promise<ScanPage>;
}

/**
 * What a rebuild reads, cut into shares that can be read independently and resumed: the segments of a
 * parallel scan, or the data files of a DynamoDB export. Each share's position is an opaque string.
 */
export interface RebuildSource {
  /** Names the source in the rebuild's saved state: the table for a scan, `export:<ExportId>` for an export. */
  readonly id: string;
  /** The table the items are from: replayed records are attributed to it. */
  readonly table: string;
  /** Said in progress and errors: `table Orders`, `export s3://bucket/prefix/AWSDynamoDB/<id>`. */
  readonly description: string;
  keyAttributes(): Promise<string[]>;
  /** For progress: DynamoDB's estimate for a scan, the manifest's exact count for an export. */
  approximateItemCount(): Promise<number | undefined>;
  /** The shares, always in the same order. */
  shares(): Promise<readonly ShareInfo[]>;
  /** Starts reading a share at a saved position (`undefined`: its beginning). */
  open(share: number, position: string | undefined): Promise<ShareCursor>;
}

export interface ShareInfo {
  /** A data file's path within the export; none for a scan segment. */
  readonly name?: string | undefined;
  /** Items in the share, when known (an export's manifest says). */
  readonly items?: number | undefined;
}

export interface SharePage {
  readonly items: readonly Record<string, unknown>[];
  /** Where the next page starts. */
  readonly position: string | undefined;
  readonly done: boolean;
}

export interface ShareCursor {
  next(limit: number): Promise<SharePage>;
  close(): Promise<void>;
}

/** Reads the objects of one DynamoDB export by their path within it (`manifest-summary.json`, `data/<name>.json.gz`). */
export interface ExportObjects {
  /** The export's root as the user gave it: a directory or `s3://bucket/prefix/AWSDynamoDB/<ExportId>`. */
  readonly location: string;
  /** The object's bytes as a stream; with `etag`, an object that is not that version is refused. */
  read(path: string, etag?: string): Promise<AsyncIterable<Uint8Array>>;
}

/** One share's progress: a scan segment's last key, or how many items of a data file are done. */
export interface SegmentState {
  /** Where the share goes on: opaque to all but its source. */
  readonly lastKey: string | undefined;
  readonly done: boolean;
  /** Items read, over every run of this rebuild. */
  readonly read: number;
  /** The data file, for an export. */
  readonly name?: string | undefined;
  /** Items the share holds, when known. */
  readonly items?: number | undefined;
  /** What its items came to, over every run: applied, parked, already newer. */
  readonly applied?: number | undefined;
  readonly parked?: number | undefined;
  readonly skipped?: number | undefined;
  /**
   * Items read less those applied, parked or already applied, over every run: events of an event log held
   * behind a missing version (a page that applies events another page held counts them off again).
   */
  readonly held?: number | undefined;
}

/** Where a rebuild stands: each share saved after every page, so that a stopped rebuild resumes. */
export interface RebuildState {
  /** The number of shares (scan segments or export data files). */
  readonly totalSegments: number;
  readonly segments: readonly SegmentState[];
  readonly startedAt: string;
  readonly finishedAt?: string | undefined;
  /** What is read, in words (`table Orders`, `export s3://...`). */
  readonly source?: string | undefined;
}

/**
 * Where rebuilds keep their state. Shares are saved one by one, so that workers in parallel (in one process or
 * in many Lambda invocations) never write over each other's progress.
 */
export interface RebuildStateStore {
  load(id: string): Promise<RebuildState | undefined>;
  /** Writes the whole state: at the start (or restart) of a rebuild, and when it finishes. */
  save(id: string, state: RebuildState): Promise<void>;
  /** Writes one share's progress. */
  saveShare(id: string, index: number, share: SegmentState): Promise<void>;
  /** One share's progress, read alone (a Lambda worker needs no other); `undefined` if there is no such share. */
  loadShare(id: string, index: number): Promise<SegmentState | undefined>;
}

export type { GenerationRegistry } from '../projection/ports.js';
