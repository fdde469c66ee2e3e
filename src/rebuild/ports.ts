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

export interface SegmentState {
  readonly lastKey: string | undefined;
  readonly done: boolean;
  /** Items read, over every run of this rebuild. */
  readonly read: number;
}

/** Where a rebuild stands, saved after every page so that a stopped rebuild resumes. */
export interface RebuildState {
  readonly totalSegments: number;
  readonly segments: readonly SegmentState[];
  readonly startedAt: string;
  readonly finishedAt?: string | undefined;
}

export interface RebuildStateStore {
  load(id: string): Promise<RebuildState | undefined>;
  save(id: string, state: RebuildState): Promise<void>;
}

export type { GenerationRegistry } from '../projection/ports.js';
