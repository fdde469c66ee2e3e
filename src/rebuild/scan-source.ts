import type { RebuildSource, ShareCursor, ShareInfo, SourceScanner } from './ports.js';

/** A parallel scan as a rebuild source: one share a segment, its position the segment's last evaluated key. */
export function scanSource(scanner: SourceScanner, segments: number): RebuildSource {
  return {
    id: scanner.table,
    table: scanner.table,
    description: `table ${scanner.table}`,
    keyAttributes: () => scanner.keyAttributes(),
    approximateItemCount: () => scanner.approximateItemCount(),
    shares: async (): Promise<ShareInfo[]> => Array.from({ length: segments }, () => ({})),
    open: async (segment, position): Promise<ShareCursor> => {
      let lastKey = position;
      return {
        next: async (limit) => {
          const page = await scanner.scan(segment, segments, lastKey, limit);
          lastKey = page.lastKey;
          return { items: page.items, position: page.lastKey, done: page.lastKey === undefined };
        },
        close: async () => undefined,
      };
    },
  };
}

export function isScanner(source: SourceScanner | RebuildSource): source is SourceScanner {
  return 'scan' in source;
}
