import type { GenerationRegistry, RebuildState, RebuildStateStore, ScanPage, SegmentState, SourceScanner } from '../../src/rebuild/ports.js';

/** A source table's items held in memory, scanned in segments like DynamoDB's parallel scan. */
export class MemorySourceScanner implements SourceScanner {
  constructor(
    private readonly items: readonly Record<string, unknown>[],
    private readonly keys: readonly string[],
    readonly table = 'Orders',
  ) {}

  async keyAttributes(): Promise<string[]> {
    return [...this.keys];
  }

  async approximateItemCount(): Promise<number | undefined> {
    return this.items.length;
  }

  async scan(segment: number, totalSegments: number, startKey: string | undefined, limit: number): Promise<ScanPage> {
    const mine = this.items.filter((_, index) => index % totalSegments === segment);
    const start = startKey === undefined ? 0 : Number(startKey);
    const page = mine.slice(start, start + limit);
    const next = start + page.length;
    return { items: page, lastKey: next >= mine.length ? undefined : String(next) };
  }
}

export class MemoryRebuildStateStore implements RebuildStateStore {
  readonly states = new Map<string, RebuildState>();
  async load(id: string): Promise<RebuildState | undefined> {
    return this.states.get(id);
  }
  async save(id: string, state: RebuildState): Promise<void> {
    this.states.set(id, state);
  }
  async loadShare(id: string, index: number): Promise<SegmentState | undefined> {
    return this.states.get(id)?.segments[index];
  }
  async saveShare(id: string, index: number, share: SegmentState): Promise<void> {
    const state = this.states.get(id);
    if (state === undefined) throw new Error(`no rebuild ${id} to save share ${index} in`);
    const segments = [...state.segments];
    segments[index] = share;
    this.states.set(id, { ...state, segments });
  }
}

export class MemoryGenerationRegistry implements GenerationRegistry {
  readonly versions = new Map<string, number>();
  async current(name: string): Promise<number | undefined> {
    return this.versions.get(name);
  }
  async promote(name: string, version: number): Promise<number> {
    const current = this.versions.get(name);
    if (current === undefined || current <= version) this.versions.set(name, version);
    return this.versions.get(name) ?? version;
  }
  async adopt(name: string, version: number): Promise<void> {
    if (!this.versions.has(name)) this.versions.set(name, version);
  }
}
