import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';

/**
 * The cdk-nag AwsSolutions findings the construct accepts, each with its reason, recorded with CDK's own
 * `Validations.acknowledge` (which cdk-nag 3 reads); anything else it reports is a defect to fix.
 */
const FUNCTION_FINDINGS: readonly (readonly [id: string, reason: string])[] = [
  [
    'AwsSolutions-L1',
    'Pinned to Node.js 22: the runtime the streamfold bundle is built and supported for; a newer runtime comes with a streamfold release that supports it.',
  ],
  [
    'AwsSolutions-IAM5[Resource::*]',
    'dynamodb:ListStreams, which the stream event source needs, cannot be scoped to a resource; every other action is on named ARNs.',
  ],
  // S3OnFailureDestination grants the failed-batch bucket with CDK's grantReadWrite.
  ...['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*'].map(
    (action) => [`AwsSolutions-IAM5[Action::${action}]`, `${action}: CDK's grant for the on-failure bucket, on that bucket only.`] as const,
  ),
  // KMS grants of an encrypted table, queue or bus, on that resource's key only.
  ...['kms:GenerateDataKey*', 'kms:ReEncrypt*'].map(
    (action) => [`AwsSolutions-IAM5[Action::${action}]`, `${action}: CDK's grant for the key of an encrypted resource the function uses, on that key only.`] as const,
  ),
];

/** Findings on the function and its role's policy; with the failed-batch bucket the construct made, if it did. */
export function acknowledgeFunctionFindings(fn: lambda.IFunction, role: iam.IRole, failedBatches: s3.Bucket | undefined): void {
  for (const [id, reason] of FUNCTION_FINDINGS) Validations.of(id === 'AwsSolutions-L1' ? fn : role).acknowledge({ id, reason });
  if (failedBatches === undefined) return;
  const logicalId = Stack.of(failedBatches).getLogicalId(failedBatches.node.defaultChild as s3.CfnBucket);
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/*]`,
    reason: 'Lambda writes each failed batch as a new object: the grant covers the objects of this bucket only.',
  });
  // The bucket: Lambda writes to it, nobody reads it through the web.
  Validations.of(failedBatches).acknowledge({
    id: 'AwsSolutions-S1',
    reason: 'Holds only the batches Lambda gave up on, written by this function; server access logs would need a second bucket for no reader.',
  });
}

/** Wildcard resources the rebuild runner's policies hold, each with why it is needed and what it is limited to. */
const EXPORT_OBJECTS = "s3:GetObject on the exports' objects under the configured prefix only: DynamoDB names them (ExportId, data files) when it exports.";
const RUNNER_WILDCARDS: readonly (readonly [pattern: RegExp, reason: string])[] = [
  [/\.Arn>:\*$/, "Step Functions' LambdaInvoke grant on the rebuild worker's versions and aliases (`:*`), that one function only."],
  [/:states:.*:execution:/, "The Distributed Map's own child executions (CDK's policy for it): they are named by Step Functions when they start."],
];

/** cdk-nag's name for a resource in an IAM5 finding: tokens as `<LogicalId.Attribute>`, `<LogicalId>`, joins joined. */
function nagName(value: unknown): string {
  if (typeof value === 'string') return value;
  const intrinsic = value as Record<string, unknown>;
  if (Array.isArray(intrinsic['Fn::GetAtt'])) return `<${(intrinsic['Fn::GetAtt'] as string[]).join('.')}>`;
  if (typeof intrinsic.Ref === 'string') return `<${intrinsic.Ref}>`;
  if (Array.isArray(intrinsic['Fn::Join'])) {
    const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
    return parts.map(nagName).join(separator);
  }
  return JSON.stringify(value);
}

/** Acknowledges the wildcard resources of a policy that the runner needs; any other wildcard stays a finding. */
function acknowledgeWildcards(scope: IConstruct, policy: iam.Policy | undefined, exportObjects?: string): void {
  if (policy === undefined) return;
  const document = Stack.of(scope).resolve(policy.document.toJSON()) as { Statement?: { Resource: unknown }[] } | undefined;
  for (const statement of document?.Statement ?? []) {
    for (const resource of [statement.Resource].flat().map(nagName).filter((name) => name.includes('*'))) {
      const reason = resource === exportObjects ? EXPORT_OBJECTS : RUNNER_WILDCARDS.find(([pattern]) => pattern.test(resource))?.[1];
      if (reason !== undefined) Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
    }
  }
}

/** Findings on the rebuild runner: its worker, the worker's role, and its state machine. */
export function acknowledgeRunnerFindings(fn: lambda.IFunction, role: iam.Role, stateMachine: sfn.StateMachine, exportObjects: string | undefined): void {
  Validations.of(fn).acknowledge({ id: 'AwsSolutions-L1', reason: FUNCTION_FINDINGS[0]![1] });
  const exportResource = exportObjects === undefined ? undefined : nagName(Stack.of(role).resolve(exportObjects));
  acknowledgeWildcards(role, role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined, exportResource);
  acknowledgeWildcards(stateMachine, stateMachine.role.node.tryFindChild('DefaultPolicy') as iam.Policy | undefined);
  acknowledgeWildcards(stateMachine, stateMachine.node.tryFindChild('DistributedMapPolicy') as iam.Policy | undefined);
  Validations.of(stateMachine).acknowledge({
    id: 'AwsSolutions-SF1',
    reason: "Logging a state machine's events needs CloudWatch Logs delivery actions that take no resource (`*`), which this runner's IAM keeps out; its worker logs every step to its own log group, and the rebuild state holds each share's progress.",
  });
  Validations.of(stateMachine).acknowledge({
    id: 'AwsSolutions-SF2',
    reason: 'X-Ray tracing needs xray:PutTraceSegments on `*`, which this runner\'s IAM keeps out; a rebuild is followed by its saved state (`rebuild --in-aws`) and the worker\'s logs.',
  });
}
