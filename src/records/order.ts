import type { ChangeEvent, DecodeResult, UndecodableRecord } from './change-event.js';
import type { ItemKey } from './item-key.js';
import { compareSequences } from './sequence.js';

/** One step of a key's run: an event to apply, or a record that could not be decoded and stops the key. */
export type RunStep =
  | {
      readonly type: 'event';
      readonly sequence: string;
      readonly identifier: string;
      readonly event: ChangeEvent;
      readonly record: unknown;
    }
  | { readonly type: 'undecodable'; readonly sequence: string; readonly failure: UndecodableRecord };

/** The records of one source item in a batch, in sequence order, duplicates dropped. */
export interface KeyRun {
  readonly key: ItemKey;
  readonly steps: readonly RunStep[];
}

export interface OrderedBatch {
  readonly runs: readonly KeyRun[];
  /** Records whose key or sequence could not be read: they cannot be placed in any run. */
  readonly unplaced: readonly UndecodableRecord[];
  /** Records dropped because the batch already held one with the same key and sequence. */
  readonly duplicates: number;
}

/**
 * Cuts a batch into per-item runs. DynamoDB orders records only per item, and Lambda may deliver one
 * record twice, so each run is sorted by sequence number (numerically) and deduplicated.
 */
export function orderByKey(results: readonly DecodeResult[]): OrderedBatch {
  const runs = new Map<string, { key: ItemKey; steps: RunStep[] }>();
  const unplaced: UndecodableRecord[] = [];
  for (const result of results) {
    const key = result.ok ? result.event.key : result.key;
    const sequence = result.ok ? result.event.sequence : result.sequence;
    if (key === undefined || sequence === undefined) {
      if (!result.ok) unplaced.push(result);
      continue;
    }
    let run = runs.get(key.id);
    if (run === undefined) {
      run = { key, steps: [] };
      runs.set(key.id, run);
    }
    run.steps.push(
      result.ok
        ? { type: 'event', sequence, identifier: result.identifier, event: result.event, record: result.record }
        : { type: 'undecodable', sequence, failure: result },
    );
  }
  let duplicates = 0;
  const ordered: KeyRun[] = [];
  for (const run of runs.values()) {
    // Records usually come in stream order already; only then is sorting skipped. A stable sort keeps the
    // first delivery of a duplicated sequence in front, and that one is kept.
    const sorted = inOrder(run.steps) ? run.steps : run.steps.sort((a, b) => compareSequences(a.sequence, b.sequence));
    const steps = sorted.filter((step, index) => {
      const previous = sorted[index - 1];
      const duplicate = previous !== undefined && compareSequences(previous.sequence, step.sequence) === 0;
      if (duplicate) duplicates += 1;
      return !duplicate;
    });
    ordered.push({ key: run.key, steps });
  }
  return { runs: ordered, unplaced, duplicates };
}

function inOrder(steps: readonly RunStep[]): boolean {
  for (let index = 1; index < steps.length; index += 1) {
    if (compareSequences((steps[index - 1] as RunStep).sequence, (steps[index] as RunStep).sequence) > 0) return false;
  }
  return true;
}

/** How Lambda names a step in `batchItemFailures`. */
export function identifierOf(step: RunStep): string | undefined {
  return step.type === 'event' ? step.identifier : step.failure.identifier;
}
