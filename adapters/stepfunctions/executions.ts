import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

export interface ExecutionStatus {
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
  readonly error?: string | undefined;
  readonly cause?: string | undefined;
  readonly output?: string | undefined;
}

/** Starts the rebuild runner's state machine and follows its execution. */
export class StepFunctionsExecutions {
  constructor(private readonly client: SFNClient) {}

  async start(stateMachineArn: string, input: unknown): Promise<string> {
    const started = await this.client.send(new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }));
    if (started.executionArn === undefined) throw new Error(`Step Functions started ${stateMachineArn} but named no execution`);
    return started.executionArn;
  }

  async status(executionArn: string): Promise<ExecutionStatus> {
    const described = await this.client.send(new DescribeExecutionCommand({ executionArn }));
    return { status: described.status ?? 'RUNNING', error: described.error, cause: described.cause, output: described.output };
  }
}

export function createStepFunctionsClient(options: { readonly region?: string | undefined }): SFNClient {
  return new SFNClient({ region: options.region });
}
