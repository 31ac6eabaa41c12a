import { Validations } from "aws-cdk-lib";
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
 * What the SSM agent calls for Session Manager (registration and the session channels) and Run
 * Command (the ec2messages channel). Nothing for State Manager, Inventory or Patch Manager, which
 * this stack does not use (the agent's association poller may log access-denied lines for
 * ssm:ListInstanceAssociations; nothing depends on it). Replaces AmazonSSMManagedInstanceCore, whose `ssm:GetParameter` and
 * `ssm:GetParameters` on `*` let any process on an instance read every parameter of the account.
 */
export const SSM_AGENT_ACTIONS = {
  registration: ["ssm:UpdateInstanceInformation"],
  sessions: [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
  ],
  runCommand: [
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
  ],
} as const;

/**
 * The instance role's permissions, in two policies. `policy`: the web's and the agents' data
 * access, each statement on one resource of this stack (replaces the original's `dynamodb:*` on
 * `*`). `agentPolicy`: the SSM agent's registration and channels, the only statements on `*`
 * (the channel actions have no resource type); kept apart so a wildcard added to `policy` is a
 * new cdk-nag finding rather than one hidden under this acknowledgement.
 */
export class InstancePolicy extends Construct {
  public readonly policy: iam.Policy;
  public readonly agentPolicy: iam.Policy;

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

    this.agentPolicy = new iam.Policy(this, "SsmAgent", {
      roles: [props.role],
      statements: [
        // "*" as in AWS's minimal Session Manager instance policy. The service authorization
        // reference also lists instance ARNs for this action, but no AWS document shows a scoped
        // grant working, and a wrong guess would break Session Manager on a real deployment where
        // no test here could see it; the call registers the calling instance.
        new iam.PolicyStatement({
          sid: "Registration",
          actions: [...SSM_AGENT_ACTIONS.registration],
          resources: ["*"],
        }),
        new iam.PolicyStatement({
          sid: "SessionChannels",
          actions: [...SSM_AGENT_ACTIONS.sessions],
          resources: ["*"],
        }),
        new iam.PolicyStatement({
          sid: "RunCommandChannel",
          actions: [...SSM_AGENT_ACTIONS.runCommand],
          resources: ["*"],
        }),
      ],
    });
    Validations.of(this.agentPolicy).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "The SSM agent's own calls only: ssmmessages (Session Manager) and ec2messages (Run Command) define no resource type, so IAM accepts only '*', and ssm:UpdateInstanceInformation registers the calling instance, granted on '*' as AWS documents it. No data action is in this policy.",
    });
  }
}
