import * as iam from "aws-cdk-lib/aws-iam";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { acknowledgeBucketGrant } from "./nag.js";

/** What the web calls on DynamoDB, and nothing more (config, repository, readiness check). */
export const WEB_TABLE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:Scan",
  "dynamodb:DescribeTable",
] as const;

export interface InstancePolicyProps {
  readonly role: iam.IRole;
  readonly tableArn: string;
  /** ARN of the SSM parameter holding the cache address. */
  readonly cacheAddressParameterArn: string;
  readonly cacheAuthSecret: secretsmanager.ISecret;
  /** Where the CodeDeploy agent downloads revisions from. */
  readonly artifactBucket: s3.IBucket;
  /** The only log groups the CloudWatch agent may write to. */
  readonly logGroups: logs.ILogGroup[];
}

/**
 * The instance role's own permissions, each statement on one resource (the Session Manager
 * managed policy is attached by the fleet). Replaces the original's `dynamodb:*` on `*`.
 */
export class InstancePolicy extends Construct {
  public readonly policy: iam.Policy;

  constructor(scope: Construct, id: string, props: InstancePolicyProps) {
    super(scope, id);
    this.policy = new iam.Policy(this, "Policy", {
      roles: [props.role],
      statements: [
        new iam.PolicyStatement({
          sid: "UsersTable",
          actions: [...WEB_TABLE_ACTIONS],
          resources: [props.tableArn],
        }),
        new iam.PolicyStatement({
          sid: "CacheAddress",
          actions: ["ssm:GetParameter"],
          resources: [props.cacheAddressParameterArn],
        }),
        new iam.PolicyStatement({
          sid: "CacheAuthToken",
          actions: ["secretsmanager:GetSecretValue"],
          resources: [props.cacheAuthSecret.secretArn],
        }),
        new iam.PolicyStatement({
          sid: "Revisions",
          actions: ["s3:GetObject", "s3:GetObjectVersion"],
          resources: [props.artifactBucket.arnForObjects("*")],
        }),
        new iam.PolicyStatement({
          sid: "ShipLogs",
          actions: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
          resources: props.logGroups.map((g) => g.logGroupArn),
        }),
      ],
    });
    acknowledgeBucketGrant(
      this.policy,
      props.artifactBucket,
      [],
      "Revisions are objects with build-generated keys under the artifact bucket; the agent downloads whichever key CodeDeploy names, read-only (GetObject, GetObjectVersion) and on this bucket only.",
    );
  }
}
