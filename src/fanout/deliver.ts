import { StreamfoldError, errorMessage } from '../core/errors.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep as defaultSleep, type BackoffPolicy, type Deadline, type Sleep } from '../core/retry.js';
import type { PublishOutcome } from './ports.js';

export interface DeliveryOptions {
  readonly maxAttempts?: number;
  readonly backoff?: BackoffPolicy;
  readonly sleep?: Sleep;
  readonly deadline?: Deadline;
}

export const DEFAULT_DELIVERY_ATTEMPTS = 5;

/**
 * Sends entries in the chunks a target allows and retries only the entries that failed for a passing
 * reason (throttling, an internal error), with jittered backoff. Entries that can never pass are final at
 * once; what still fails after the last attempt comes back as a retryable failure.
 */
export async function deliverEntries<T>(
  entries: readonly T[],
  chunksOf: (entries: readonly T[]) => T[][],
  send: (chunk: readonly T[]) => Promise<PublishOutcome[]>,
  options: DeliveryOptions = {},
): Promise<PublishOutcome[]> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_DELIVERY_ATTEMPTS;
  const sleep = options.sleep ?? defaultSleep;
  // Filled, not sparse: `map` skips the holes of `new Array(n)`.
  const outcomes: (PublishOutcome | undefined)[] = entries.map(() => undefined);
  const position = new Map(entries.map((entry, index) => [entry, index]));
  let pending: readonly T[] = entries;
  let lastFailure = new Map<T, PublishOutcome>();
  for (let attempt = 0; attempt < maxAttempts && pending.length > 0; attempt += 1) {
    const pause = attempt === 0 ? 0 : backoffDelay(options.backoff ?? DEFAULT_BACKOFF, attempt - 1);
    // Near Lambda's deadline no attempt starts: what did not go out is reported, and Lambda delivers it again.
    if (attempt > 0 && options.deadline?.allows(pause) === false) break;
    await sleep(pause);
    const again: T[] = [];
    lastFailure = new Map();
    for (const chunk of chunksOf(pending)) {
      let results: PublishOutcome[];
      try {
        results = await send(chunk);
      } catch (error) {
        const failure = new StreamfoldError('STORE_WRITE_FAILED', `sending failed: ${errorMessage(error)}`, {
          cause: error,
          retryable: true,
        });
        results = chunk.map(() => ({ ok: false, retryable: true, error: failure }));
      }
      chunk.forEach((entry, index) => {
        const result = results[index];
        const at = position.get(entry) ?? -1;
        if (result?.ok === true || (result !== undefined && !result.retryable)) {
          outcomes[at] = result;
        } else {
          again.push(entry);
          if (result !== undefined) lastFailure.set(entry, result);
        }
      });
    }
    pending = again;
  }
  return outcomes.map(
    (outcome, index) =>
      outcome ??
      lastFailure.get(entries[index] as T) ?? {
        ok: false,
        retryable: true,
        error: new StreamfoldError('STORE_WRITE_FAILED', 'not delivered'),
      },
  );
}

/** Chunks of at most `maxCount` entries and `maxBytes` bytes, in order. */
export function chunkBySize<T>(entries: readonly T[], maxCount: number, maxBytes: number, sizeOf: (entry: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = sizeOf(entry);
    if (current.length > 0 && (current.length >= maxCount || bytes + size > maxBytes)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** An entry over the target's limit is refused before sending, naming its record. */
export function oversized(
  target: string,
  message: { eventID: string; key: string; sequence: string },
  size: number,
  limit: number,
): PublishOutcome {
  return {
    ok: false,
    retryable: false,
    error: new StreamfoldError('UNSUPPORTED_VALUE', `the ${target} entry is ${size} bytes, over the ${limit}-byte limit`, {
      eventID: message.eventID,
      key: message.key,
      sequence: message.sequence,
    }),
  };
}
