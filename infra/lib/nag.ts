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
  for (const action of actions) {
    Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason });
  }
  Validations.of(scope).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${findingResource(bucket)}/*]`,
    reason,
  });
}

/**
 * The bucket's ARN as cdk-nag writes it in a finding id: `<LogicalId.Arn>` for a bucket of this
 * stack; for one imported by name (a layered piece), the ARN's parts flattened the way cdk-nag
 * flattens them (`<Ref>`, the Fn::Sub text of an import with `<Name>` for each `${Name}`). The
 * tests prove each acknowledgement still matches a finding, so a change in that format shows.
 */
function findingResource(bucket: s3.IBucket): string {
  const stack = Stack.of(bucket);
  const cfn = bucket.node.defaultChild as CfnResource | undefined;
  if (cfn) return `<${stack.resolve(stack.getLogicalId(cfn))}.Arn>`;
  return flatten(stack.resolve(bucket.bucketArn));
}

function flatten(value: unknown): string {
  if (typeof value === "string") return value;
  const node = value as Record<string, unknown>;
  if (typeof node.Ref === "string") return `<${node.Ref}>`;
  const join = node["Fn::Join"] as [string, unknown[]] | undefined;
  if (join) return join[1].map(flatten).join(join[0]);
  const imported = node["Fn::ImportValue"] as { "Fn::Sub"?: unknown } | undefined;
  if (imported && typeof imported["Fn::Sub"] === "string") {
    return imported["Fn::Sub"].replace(/\$\{([^}]+)\}/g, "<$1>");
  }
  throw new Error(`cannot name the cdk-nag finding of ${JSON.stringify(value)}`);
}
