import { Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';

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
