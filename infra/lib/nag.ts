import { type CfnResource, Stack, Validations } from "aws-cdk-lib";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type { IConstruct } from "constructs";

/**
 * Acknowledges, on `scope`, the AwsSolutions-IAM5 findings that the CDK's own bucket grants
 * (`grantRead`, `grantReadWrite`) produce: wildcard S3 actions and the `<bucket>/*` resource. The
 * finding ids embed the bucket's logical id, so they are computed here rather than copied from a
 * synth report, and stay right if the bucket moves in the tree.
 */
export function acknowledgeBucketGrant(
  scope: IConstruct,
  bucket: s3.IBucket,
  actions: readonly string[],
  reason: string,
): void {
  const stack = Stack.of(scope);
  const logicalId = stack.resolve(stack.getLogicalId(bucket.node.defaultChild as CfnResource));
  for (const action of actions) {
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason });
  }
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/*]`,
    reason,
  });
}
