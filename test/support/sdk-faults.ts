import {
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
  type DynamoDBClient,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import { Crashed } from './faulty-store.js';

export interface SdkFaultPlan {
  readonly random: () => number;
  /** Chance that a transaction is cancelled for throttling, before it is sent. */
  readonly throttle: number;
  /** Chance that a transaction is cancelled by a conflicting one, before it is sent. */
  readonly conflict: number;
  /** Chance that a transaction is sent and applied, and then the answer is lost to a timeout. */
  readonly timeoutAfterSend: number;
  /** Chance that a batch read is throttled. */
  readonly readThrottle: number;
  /** The process dies right after this many transactions have landed (`undefined`: it does not die). */
  readonly crashAfterWrites?: number | undefined;
}

export interface FaultCounts {
  throttle: number;
  conflict: number;
  timeoutAfterSend: number;
  readThrottle: number;
  crashes: number;
  writes: number;
}

/**
 * SDK middleware that makes DynamoDB fail as it can in production, around the real requests: before the
 * SDK's own retries, so the engine's handling is what is tested. After the planned crash every request
 * fails, as nothing more comes from a dead process.
 */
export function injectFaults(client: DynamoDBClient, plan: SdkFaultPlan): { counts: FaultCounts; crashed: () => boolean } {
  const counts: FaultCounts = { throttle: 0, conflict: 0, timeoutAfterSend: 0, readThrottle: 0, crashes: 0, writes: 0 };
  let dead = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (dead) throw new Crashed('the process is gone');
      if (context.commandName === 'BatchGetItemCommand' && plan.random() < plan.readThrottle) {
        counts.readThrottle += 1;
        throw new ProvisionedThroughputExceededException({ message: 'injected: read throttled', $metadata: {} });
      }
      if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
      const items = (args.input as TransactWriteItemsCommandInput).TransactItems?.length ?? 0;
      const roll = plan.random();
      if (roll < plan.throttle) {
        counts.throttle += 1;
        throw cancelled(items, 'ThrottlingError');
      }
      if (roll < plan.throttle + plan.conflict) {
        counts.conflict += 1;
        throw cancelled(items, 'TransactionConflict');
      }
      const result = await next(args);
      counts.writes += 1;
      if (plan.crashAfterWrites !== undefined && counts.writes >= plan.crashAfterWrites) {
        counts.crashes += 1;
        dead = true;
        throw new Crashed('injected: the process died between two writes');
      }
      if (roll < plan.throttle + plan.conflict + plan.timeoutAfterSend) {
        counts.timeoutAfterSend += 1;
        throw Object.assign(new Error('injected: socket timed out after the request was sent'), { name: 'TimeoutError' });
      }
      return result;
    },
    { step: 'initialize', name: 'streamfoldInjectedFaults' },
  );
  return { counts, crashed: () => dead };
}

function cancelled(items: number, code: string): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${code}]`,
    $metadata: {},
    CancellationReasons: Array.from({ length: items }, (_, index) => ({ Code: index === 0 ? code : 'None' })),
  });
}
