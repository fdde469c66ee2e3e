import type { CommitOutcome, KeyWrite, LoadedState, ReadModelStore } from '../../src/projection/ports.js';
import type { ItemKey } from '../../src/records/item-key.js';

export interface StoreFaults {
  /** Chance that a write is refused as a transaction conflict, not applied. */
  readonly conflict: number;
  /** Chance that a write is throttled, not applied. */
  readonly throttle: number;
  /** Chance that a write is applied but its answer lost (a timeout after the request was sent). */
  readonly unknownOutcome: number;
  /** Chance that the process dies during a commit, after some of its writes. */
  readonly crash: number;
  /** Chance that a read fails. */
  readonly loadFailure: number;
}


/** Thrown by a store whose process has died: nothing it does after that takes effect. */
export class Crashed extends Error {
  override readonly name = 'Crashed';
}

/**
 * A store in front of another that fails the way DynamoDB and a Lambda container can, at seeded random
 * points. After a crash every call fails until `restart()`, as a dead process does nothing more; the
 * harness then treats the invocation as a function error.
 */
export class FaultyStore implements ReadModelStore {
  crashed = false;
  readonly injected = { conflict: 0, throttle: 0, unknownOutcome: 0, crash: 0, loadFailure: 0 };

  constructor(
    private readonly inner: ReadModelStore,
    private readonly random: () => number,
    private readonly faults: StoreFaults,
  ) {}

  restart(): void {
    this.crashed = false;
  }

  async load(keys: readonly ItemKey[], views: readonly string[]): Promise<LoadedState> {
    if (this.crashed) throw new Crashed('the process is gone');
    if (this.random() < this.faults.loadFailure) {
      this.injected.loadFailure += 1;
      throw new Error('injected: the read failed');
    }
    return this.inner.load(keys, views);
  }

  async commit(writes: readonly KeyWrite[]): Promise<CommitOutcome[]> {
    if (this.crashed) throw new Crashed('the process is gone');
    if (this.random() < this.faults.crash) {
      this.injected.crash += 1;
      // Some of the transactions landed before the process died.
      const landed = Math.floor(this.random() * (writes.length + 1));
      await this.inner.commit(writes.slice(0, landed));
      this.crashed = true;
      throw new Crashed('injected: the process died between two writes');
    }
    const outcomes: CommitOutcome[] = [];
    for (const write of writes) {
      const roll = this.random();
      if (roll < this.faults.conflict) {
        this.injected.conflict += 1;
        outcomes.push({ status: 'conflict' });
      } else if (roll < this.faults.conflict + this.faults.throttle) {
        this.injected.throttle += 1;
        outcomes.push({ status: 'retry', error: new Error('injected: throttled') });
      } else if (roll < this.faults.conflict + this.faults.throttle + this.faults.unknownOutcome) {
        this.injected.unknownOutcome += 1;
        await this.inner.commit([write]);
        outcomes.push({ status: 'retry', error: new Error('injected: timed out after the request was sent') });
      } else {
        const [outcome] = await this.inner.commit([write]);
        outcomes.push(outcome ?? { status: 'retry', error: new Error('no outcome') });
      }
    }
    return outcomes;
  }
}
