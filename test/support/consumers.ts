import { StreamConsumer } from '../../src/consumer.js';
import { silentLogger } from '../../src/logging.js';
import type { Projection } from '../../src/projection/define.js';
import type { DeadLetterStore, ReadModelStore } from '../../src/projection/ports.js';
import { ProjectionRuntime } from '../../src/projection/runtime.js';
import examples from '../../projections/index.js';
import { noSleep } from './messages.js';


/** A consumer over any store, without backoff pauses: unit tests stay fast. */
export function testConsumer(
  store: ReadModelStore,
  projections: readonly Projection[] = examples,
  deadLetters?: DeadLetterStore,
): StreamConsumer {
  return new StreamConsumer(
    new ProjectionRuntime(projections, store, silentLogger, { sleep: noSleep, deadLetters }),
    silentLogger,
  );
}

/** Records cut into Lambda batches of a size. */
export { chunk as batches } from '../../src/concurrency.js';
