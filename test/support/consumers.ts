import { StreamConsumer } from '../../src/consumer/consumer.js';
import { silentLogger } from '../../src/core/logging.js';
import { runtimesOf } from '../../src/catalog/lanes.js';
import type { AnyProjection } from '../../src/catalog/kinds.js';
import { Redriver } from '../../src/projection/redrive.js';
import type { DeadLetterStore, ReadModelStore } from '../../src/projection/ports.js';
import examples from '../../projections/index.js';
import { noSleep } from './messages.js';


/** A consumer over any store, without backoff pauses: unit tests stay fast. */
export function testConsumer(
  store: ReadModelStore,
  projections: readonly AnyProjection[] = examples,
  deadLetters?: DeadLetterStore,
): StreamConsumer {
  return new StreamConsumer(runtimesOf(projections, store, silentLogger, { sleep: noSleep, deadLetters }), silentLogger);
}

/** A redrive over any store, without backoff pauses. */
export function testRedriver(store: ReadModelStore, projections: readonly AnyProjection[], deadLetters: DeadLetterStore): Redriver {
  return new Redriver(runtimesOf(projections, store, silentLogger, { sleep: noSleep, deadLetters }), deadLetters, silentLogger, { sleep: noSleep });
}

/** Records cut into Lambda batches of a size. */
export { chunk as batches } from '../../src/core/concurrency.js';
