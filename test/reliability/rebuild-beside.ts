import { silentLogger } from '../../src/core/logging.js';
import type { AnyProjection } from '../../src/catalog/kinds.js';
import type { ProjectionRuntime } from '../../src/projection/runtime.js';
import { Rebuilder } from '../../src/rebuild/rebuilder.js';
import { noSleep } from '../support/messages.js';
import { MemoryGenerationRegistry, MemoryRebuildStateStore, MemorySourceScanner } from '../support/memory-rebuild.js';

/**
 * Rebuilds each projection from a scan of the final table while the live consumers run, restarting (and so
 * resuming) after a crash, as an operator would. `runtimeOf` gives a fresh runtime, in a fresh container,
 * for each attempt.
 */
export async function rebuildBeside(
  projections: readonly AnyProjection[],
  items: readonly Record<string, unknown>[],
  keyAttributes: readonly string[],
  runtimeOf: (projection: AnyProjection) => ProjectionRuntime,
): Promise<void> {
  const states = new MemoryRebuildStateStore();
  const registry = new MemoryGenerationRegistry();
  for (const projection of projections) {
    for (let attempt = 0; ; attempt += 1) {
      const rebuilder = new Rebuilder(projection, runtimeOf(projection), new MemorySourceScanner(items, keyAttributes), states, registry, silentLogger, {
        now: Date.now,
        sleep: noSleep,
      });
      try {
        await rebuilder.run({ segments: 3, pageSize: 4 });
        break;
      } catch (error) {
        if (attempt > 200) throw error;
      }
    }
  }
}
