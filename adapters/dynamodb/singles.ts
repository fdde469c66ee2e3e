import { BatchExecuteStatementCommand, type BatchStatementResponse, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { chunk, mapConcurrent } from '../../src/core/concurrency.js';
import { StreamfoldError, errorMessage } from '../../src/core/errors.js';
import { backoffDelay, type BackoffPolicy, type Deadline, type Sleep } from '../../src/core/retry.js';
import type { CommitOutcome } from '../../src/projection/ports.js';
import { classifyStatementError, classifyWriteError } from './errors.js';
import { statementOf } from './guarded.js';
import { writeUnits } from './item-size.js';
import type { Single } from './parts.js';
import type { DynamoDbUsage } from './usage.js';

/** `BatchExecuteStatement` takes at most 25 statements, all reads or all writes. */
export const STATEMENTS_PER_BATCH = 25;

export interface SinglesOptions {
  readonly client: DynamoDBClient;
  readonly usage: DynamoDbUsage;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  readonly sleep: Sleep;
  readonly random: () => number;
  readonly deadline: Deadline;
}


/**
 * Writes items that each land by themselves, 25 to a `BatchExecuteStatement`, each with its own condition.
 * A statement that is throttled is sent again after a pause; one whose condition failed is a conflict; one
 * DynamoDB refuses is refused for the projection it serves. One outcome per write, in order.
 */
export async function writeSingles(singles: readonly Single[], options: SinglesOptions): Promise<CommitOutcome[]> {
  const outcomes = new Array<CommitOutcome>(singles.length);
  const positions = singles.map((_, position) => position);
  await mapConcurrent(chunk(positions, STATEMENTS_PER_BATCH), options.concurrency, async (part) => {
    const results = await sendBatch(part.map((position) => singles[position] as Single), options);
    part.forEach((position, offset) => {
      outcomes[position] = results[offset] ?? { status: 'retry', error: new Error('no outcome') };
    });
  });
  return outcomes;
}

async function sendBatch(batch: readonly Single[], options: SinglesOptions): Promise<CommitOutcome[]> {
  const outcomes = new Array<CommitOutcome | undefined>(batch.length);
  let pending = batch.map((_, position) => position);
  let lastError: unknown;
  for (let attempt = 0; pending.length > 0; attempt += 1) {
    if (attempt > 0) {
      const pause = backoffDelay(options.backoff, attempt - 1, options.random);
      if (attempt >= options.maxAttempts || !options.deadline.allows(pause)) break;
      await options.sleep(pause);
    }
    let responses: BatchStatementResponse[];
    try {
      options.usage.request('BatchExecuteStatement');
      const statements = pending.map((position) => statementOf((batch[position] as Single).write));
      const response = await options.client.send(new BatchExecuteStatementCommand({ Statements: statements }), { abortSignal: options.deadline.signal() });
      responses = response.Responses ?? [];
    } catch (error) {
      lastError = error;
      const kind = classifyWriteError(error);
      if (kind === 'throttled') continue;
      if (kind === 'invalid') return fill(outcomes, pending, await isolate(pending.map((position) => batch[position] as Single), error, options));
      return fill(outcomes, pending, pending.map(() => ({ status: 'retry', error })));
    }
    const again: number[] = [];
    pending.forEach((position, offset) => {
      const single = batch[position] as Single;
      const code = responses[offset]?.Error?.Code;
      const kind = code === undefined ? undefined : classifyStatementError(code);
      if (code === undefined && responses[offset] !== undefined) {
        options.usage.itemsWritten += 1;
        options.usage.billedWriteUnits += writeUnits(single.bytes, false);
        outcomes[position] = { status: 'committed' };
      } else if (kind === 'conflict') {
        outcomes[position] = { status: 'conflict' };
      } else if (code !== undefined && kind === 'invalid') {
        outcomes[position] = refused(single, responses[offset]?.Error?.Message ?? code, undefined);
      } else if (code === undefined || kind === 'throttled') {
        lastError = new StreamfoldError('STORE_WRITE_FAILED', `DynamoDB did not write the item: ${code ?? 'no answer for it'}`, { retryable: true });
        again.push(position);
      } else {
        outcomes[position] = { status: 'retry', error: new StreamfoldError('STORE_WRITE_FAILED', `DynamoDB answered ${code}`, { retryable: true }) };
      }
    });
    pending = again;
  }
  return fill(outcomes, pending, pending.map(() => ({ status: 'retry', error: lastError })));
}

/** A batch DynamoDB refused as a whole: halved until the item at fault stands alone, so the others still land. */
async function isolate(batch: readonly Single[], error: unknown, options: SinglesOptions): Promise<CommitOutcome[]> {
  if (batch.length === 1) return [refused(batch[0] as Single, errorMessage(error), error)];
  const middle = Math.ceil(batch.length / 2);
  const [first, second] = await Promise.all([sendBatch(batch.slice(0, middle), options), sendBatch(batch.slice(middle), options)]);
  return [...first, ...second];
}

function refused(single: Single, reason: string, cause: unknown): CommitOutcome {
  const what = single.kind === 'row' ? `the row of ${single.generations.join(', ')}` : 'the checkpoint';
  return { status: 'refused', error: new StreamfoldError('STORE_WRITE_FAILED', `DynamoDB refused the write of ${what}: ${reason}`, { cause }), generations: single.generations };
}

function fill(outcomes: (CommitOutcome | undefined)[], positions: readonly number[], results: readonly CommitOutcome[]): CommitOutcome[] {
  positions.forEach((position, offset) => {
    outcomes[position] = results[offset] ?? { status: 'retry', error: new Error('no outcome') };
  });
  return outcomes.map((outcome) => outcome ?? { status: 'retry', error: new Error('no outcome') });
}
