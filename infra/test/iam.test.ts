/**
 * Every AWS call the instances and the pipeline make, evaluated by a real IAM policy engine
 * (@cloud-copilot/iam-simulate) against the committed template as CloudFormation resolves it for a
 * concrete stack: identity policies of the role that makes the call, resource policies where they
 * decide (the artifact bucket's TLS-only deny, the access-log bucket's delivery grants, each role's
 * trust policy). Resource ARNs come from the same resolution, so an allowed row proves the policies
 * name what the template creates, and a denied row proves they name nothing more.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { type CfnTemplate, type ResolvedStack, resolveStack } from "./support/cloudformation.js";
import {
  awsManagedPoliciesOf,
  type Decision,
  evaluate,
  type StackRole,
  stackRole,
} from "./support/iam.js";

const root = join(import.meta.dirname, "..", "..");
const template = JSON.parse(
  readFileSync(join(root, "cloudformation/fleetline.template.json"), "utf8"),
) as CfnTemplate;
const exampleParameters = Object.fromEntries(
  (
    JSON.parse(
      readFileSync(join(root, "cloudformation/parameters.example.json"), "utf8"),
    ) as Array<{
      ParameterKey: string;
      ParameterValue: string;
    }>
  ).map((p) => [p.ParameterKey, p.ParameterValue]),
);
const ssmParameters = {
  "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64": "ami-0123456789abcdef0",
};

/** Two deployments that differ in every name IAM sees: stack, app/env, region, account, connection. */
const deployments = [
  {
    stackName: "fleetline-prod",
    region: "eu-west-3",
    accountId: "111122223333",
    parameters: exampleParameters,
  },
  {
    stackName: "shop-staging",
    region: "us-east-1",
    accountId: "444455556666",
    parameters: {
      ...exampleParameters,
      AppName: "shop",
      EnvName: "staging",
      // An older connection: its ARN (and so its IAM prefix) is codestar-connections.
      ConnectionArn:
        "arn:aws:codestar-connections:us-east-1:444455556666:connection/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
      DeploymentStrategy: "HalfAtATime",
      InstanceSubnets: "private",
    },
  },
];

const INSTANCE_ID = "i-0123456789abcdef0";

interface PipelineAction {
  readonly ActionTypeId: { readonly Category: string };
  readonly RoleArn: string;
  readonly Configuration: Readonly<Record<string, string>>;
}
const BUILD_ID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";

function only<T>(items: T[], what: string): T {
  assert.equal(items.length, 1, `expected exactly one ${what}, found ${items.length}`);
  return items[0]!;
}

function idsOfType(stack: ResolvedStack, type: string): string[] {
  return Object.entries(stack.resources)
    .filter(([, r]) => r.type === type)
    .map(([id]) => id);
}

function roleWithArn(stack: ResolvedStack, arn: unknown): StackRole {
  const id = only(
    idsOfType(stack, "AWS::IAM::Role").filter((r) => stack.getAtt(r, "Arn") === arn),
    `role with ARN ${String(arn)}`,
  );
  return stackRole(stack, id);
}

/**
 * Names and roles of one resolved stack, each found where CloudFormation wires it (the launch
 * template's instance profile, the project's service role, the pipeline's action roles…), so the
 * policies evaluated are those of the principal that really makes the call.
 */
function worldOf(stack: ResolvedStack) {
  const { partition, region, accountId } = stack.context;
  const res = (id: string) => stack.resources[id]!;
  /** A resolved property by its path; missing means the template changed shape: fail. */
  const at = (id: string, path: string): unknown => {
    let value: unknown = res(id).properties;
    for (const key of path.split(".")) {
      value = (value as Record<string, unknown> | undefined)?.[key];
      assert.ok(value !== undefined, `${id}.${path} is not in the resolved template`);
    }
    return value;
  };
  const text = (id: string, path: string): string => String(at(id, path));
  const arn = (service: string, resource: string, r = region) =>
    `arn:${partition}:${service}:${r}:${accountId}:${resource}`;

  const launchTemplate = only(idsOfType(stack, "AWS::EC2::LaunchTemplate"), "launch template");
  const profileArn = at(launchTemplate, "LaunchTemplateData.IamInstanceProfile.Arn");
  const profile = only(
    idsOfType(stack, "AWS::IAM::InstanceProfile").filter(
      (id) => stack.getAtt(id, "Arn") === profileArn,
    ),
    "instance profile of the launch template",
  );
  const instanceRoleName = only(at(profile, "Roles") as string[], "role in the instance profile");
  const instanceRoleId = only(
    idsOfType(stack, "AWS::IAM::Role").filter((id) => res(id).ref === instanceRoleName),
    "instance role",
  );
  const userData = Buffer.from(
    text(launchTemplate, "LaunchTemplateData.UserData"),
    "base64",
  ).toString("utf8");

  const project = only(idsOfType(stack, "AWS::CodeBuild::Project"), "build project");
  const pipeline = only(idsOfType(stack, "AWS::CodePipeline::Pipeline"), "pipeline");
  const actions = (at(pipeline, "Stages") as Array<{ Actions: PipelineAction[] }>).flatMap(
    (s) => s.Actions,
  );
  const action = (category: string) =>
    only(
      actions.filter((a) => a.ActionTypeId.Category === category),
      `${category} action`,
    );
  const deploymentGroup = only(
    idsOfType(stack, "AWS::CodeDeploy::DeploymentGroup"),
    "deployment group",
  );
  const flowLog = only(idsOfType(stack, "AWS::EC2::FlowLog"), "flow log");

  const tableId = only(idsOfType(stack, "AWS::DynamoDB::Table"), "table");
  const parameterName = res(only(idsOfType(stack, "AWS::SSM::Parameter"), "SSM parameter")).ref;
  const artifactBucket = text(pipeline, "ArtifactStore.Location");
  const accessLogsBucket = text(
    only(
      idsOfType(stack, "AWS::S3::Bucket").filter((id) => res(id).ref === artifactBucket),
      "artifact bucket",
    ),
    "LoggingConfiguration.DestinationBucketName",
  );
  const pipelineName = res(pipeline).ref;
  const projectName = res(project).ref;
  const application = res(
    only(idsOfType(stack, "AWS::CodeDeploy::Application"), "application"),
  ).ref;
  const group = res(deploymentGroup).ref;
  const autoScalingGroup = res(
    only(idsOfType(stack, "AWS::AutoScaling::AutoScalingGroup"), "Auto Scaling group"),
  ).ref;
  const targetGroup = res(
    only(idsOfType(stack, "AWS::ElasticLoadBalancingV2::TargetGroup"), "target group"),
  ).ref;
  const deploymentConfig = text(deploymentGroup, "DeploymentConfigName");
  const buildLogGroup = text(project, "LogsConfig.CloudWatchLogs.GroupName");
  const reportGroups = Object.keys(
    (parseYaml(readFileSync(join(root, "buildspec.yml"), "utf8")) as { reports?: object })
      .reports ?? {},
  ).map((name) => `${projectName}-${name}`);
  const connectionArn = action("Source").Configuration.ConnectionArn!;

  return {
    stack,
    principals: {
      instance: stackRole(stack, instanceRoleId),
      build: roleWithArn(stack, at(project, "ServiceRole")),
      pipeline: roleWithArn(stack, at(pipeline, "RoleArn")),
      sourceAction: roleWithArn(stack, action("Source").RoleArn),
      buildAction: roleWithArn(stack, action("Build").RoleArn),
      deployAction: roleWithArn(stack, action("Deploy").RoleArn),
      codedeploy: roleWithArn(stack, at(deploymentGroup, "ServiceRoleArn")),
      flowLogs: roleWithArn(stack, at(flowLog, "DeliverLogsPermissionArn")),
    },
    userData,
    arn,
    table: String(stack.getAtt(tableId, "Arn")),
    tableName: res(tableId).ref,
    parameterName,
    parameter: (name: string) => arn("ssm", `parameter/${name.replace(/^\//, "")}`),
    secret: res(only(idsOfType(stack, "AWS::SecretsManager::Secret"), "secret")).ref,
    artifactBucket,
    accessLogsBucket,
    /** An object key as CodePipeline writes them: <pipeline name, 20 chars>/<artifact>/<id>. */
    artifact: (artifactName: string) =>
      `arn:${partition}:s3:::${artifactBucket}/${pipelineName.slice(0, 20)}/${artifactName}/Xy12Ab3`,
    logStream: (groupName: string, streamName: string) =>
      arn("logs", `log-group:${groupName}:log-stream:${streamName}`),
    // CloudWatch Logs authorises log-group actions against "log-group:NAME:log-stream:" (the form
    // its access-denied messages show), which is why a log group's Arn attribute ends in ":*".
    logGroupAction: (groupName: string) => arn("logs", `log-group:${groupName}:log-stream:`),
    buildLogGroup,
    flowLogGroup: text(flowLog, "LogGroupName"),
    reportGroups,
    projectArn: String(stack.getAtt(project, "Arn")),
    application,
    deploymentGroupArn: arn("codedeploy", `deploymentgroup:${application}/${group}`),
    deploymentConfig,
    autoScalingGroupArn: arn(
      "autoscaling",
      `autoScalingGroup:11111111-2222-3333-4444-555555555555:autoScalingGroupName/${autoScalingGroup}`,
    ),
    targetGroup,
    connectionArn,
    instanceArn: arn("ec2", `instance/${INSTANCE_ID}`),
  };
}
type World = ReturnType<typeof worldOf>;

/**
 * The CloudWatch agent's log destinations as the bootstrap configures them: the agent config that
 * the resolved user data writes, with the header's log prefix substituted as bash does.
 */
function agentLogDestinations(w: World): Array<{ group: string; stream: string }> {
  const prefix = /^FL_LOG_PREFIX='([^']*)'$/m.exec(w.userData)?.[1];
  assert.ok(prefix, "the user data sets FL_LOG_PREFIX");
  const config = /amazon-cloudwatch-agent\/etc\/[\w.-]+\.json <<EOF\n([\s\S]*?)\nEOF\n/.exec(
    w.userData,
  )?.[1];
  assert.ok(config, "the user data writes the CloudWatch agent's config");
  const parsed = JSON.parse(config.replaceAll("$FL_LOG_PREFIX", prefix)) as {
    logs: {
      logs_collected: {
        files: { collect_list: Array<{ log_group_name: string; log_stream_name: string }> };
      };
    };
  };
  return parsed.logs.logs_collected.files.collect_list.map((f) => ({
    group: f.log_group_name,
    stream: f.log_stream_name.replaceAll("{instance_id}", INSTANCE_ID),
  }));
}

type Expect = "allow" | "deny" | "explicit deny";
type Who = keyof World["principals"] | `${string}.amazonaws.com`;
interface Row {
  readonly principal: Who;
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string>;
  readonly expect: Expect;
  /** Who makes the call and why, or why it must fail. */
  readonly why: string;
}

const PLAIN_HTTP = { "aws:SecureTransport": "false" };

/** The call list. Allowed rows: every call made. Denied rows: what a leak or a mistake would look like. */
function calls(w: World): Row[] {
  const { partition, region, accountId } = w.stack.context;
  const otherRegion = region === "us-east-1" ? "eu-west-1" : "us-east-1";
  const web = (action: string, why: string): Row => ({
    principal: "instance",
    action,
    resource: w.table,
    expect: "allow",
    why,
  });
  const agentLogs = agentLogDestinations(w).flatMap((d): Row[] => [
    {
      principal: "instance",
      action: "logs:CreateLogStream",
      resource: w.logStream(d.group, d.stream),
      expect: "allow",
      why: `CloudWatch agent: stream ${d.stream} in ${d.group}`,
    },
    {
      principal: "instance",
      action: "logs:PutLogEvents",
      resource: w.logStream(d.group, d.stream),
      expect: "allow",
      why: `CloudWatch agent: events to ${d.group}`,
    },
    {
      principal: "instance",
      action: "logs:DescribeLogStreams",
      resource: w.logGroupAction(d.group),
      expect: "allow",
      why: `CloudWatch agent: finds its stream in ${d.group}`,
    },
  ]);
  const [appName, envName] = w.parameterName.split("/").slice(1, 3) as [string, string];
  return [
    // ── instances: the web ────────────────────────────────────────────────────────────────
    web("dynamodb:GetItem", "web: read one user (GetCommand)"),
    web("dynamodb:PutItem", "web: create a user (PutCommand)"),
    web("dynamodb:UpdateItem", "web: edit a user, version-checked (UpdateCommand)"),
    web("dynamodb:DeleteItem", "web: delete a user (DeleteCommand)"),
    web("dynamodb:Scan", "web: list users, paginated (ScanCommand)"),
    web("dynamodb:DescribeTable", "web: readiness check (DescribeTableCommand)"),
    {
      principal: "instance",
      action: "ssm:GetParameter",
      resource: w.parameter(w.parameterName),
      expect: "allow",
      why: "web: cache address at start",
    },
    {
      principal: "instance",
      action: "secretsmanager:GetSecretValue",
      resource: w.secret,
      expect: "allow",
      why: "web: cache AUTH token at start",
    },
    // ── instances: the CodeDeploy agent (default mode: its command channel is not an IAM action)
    {
      principal: "instance",
      action: "s3:GetObject",
      resource: w.artifact("Bundle"),
      expect: "allow",
      why: "CodeDeploy agent: downloads the revision CodeDeploy names",
    },
    {
      principal: "instance",
      action: "s3:GetObjectVersion",
      resource: w.artifact("Bundle"),
      expect: "allow",
      why: "CodeDeploy agent: a revision pinned to an object version",
    },
    // ── instances: the CloudWatch agent, one destination at a time as the bootstrap names them
    ...agentLogs,
    // ── instances: the SSM agent (Session Manager, Run Command) ─────────────────────────────
    {
      principal: "instance",
      action: "ssm:UpdateInstanceInformation",
      resource: w.instanceArn,
      expect: "allow",
      why: "SSM agent: registers the instance (heartbeat)",
    },
    ...[
      "ssmmessages:CreateControlChannel",
      "ssmmessages:CreateDataChannel",
      "ssmmessages:OpenControlChannel",
      "ssmmessages:OpenDataChannel",
      "ec2messages:GetEndpoint",
      "ec2messages:GetMessages",
      "ec2messages:AcknowledgeMessage",
      "ec2messages:SendReply",
      "ec2messages:FailMessage",
      "ec2messages:DeleteMessage",
    ].map(
      (action): Row => ({
        principal: "instance",
        action,
        resource: "*",
        expect: "allow",
        why: `SSM agent: ${action.startsWith("ssmmessages") ? "Session Manager" : "Run Command"} channel`,
      }),
    ),
    // ── instances: must not ──────────────────────────────────────────────────────────────
    {
      principal: "instance",
      action: "dynamodb:GetItem",
      resource: w.arn("dynamodb", "table/another-table"),
      expect: "deny",
      why: "another table",
    },
    {
      principal: "instance",
      action: "dynamodb:GetItem",
      resource: w.arn("dynamodb", `table/${w.tableName}`, otherRegion),
      expect: "deny",
      why: "a table of the same name in another region",
    },
    {
      principal: "instance",
      action: "dynamodb:DeleteTable",
      resource: w.table,
      expect: "deny",
      why: "DeleteTable on the Users table",
    },
    {
      principal: "instance",
      action: "dynamodb:BatchWriteItem",
      resource: w.table,
      expect: "deny",
      why: "an item action the web never sends",
    },
    {
      principal: "instance",
      action: "dynamodb:UpdateTable",
      resource: w.table,
      expect: "deny",
      why: "changing the table (deletion protection, capacity)",
    },
    {
      principal: "instance",
      action: "secretsmanager:GetSecretValue",
      resource: w.arn("secretsmanager", "secret:another-secret-AbCdEf"),
      expect: "deny",
      why: "another secret",
    },
    {
      principal: "instance",
      action: "secretsmanager:PutSecretValue",
      resource: w.secret,
      expect: "deny",
      why: "rewriting the cache AUTH token",
    },
    ...[
      `/other/${envName}/CacheAddress`,
      `/${appName}/${envName}/Other`,
      `/${appName}/other/CacheAddress`,
      "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    ].map(
      (name): Row => ({
        principal: "instance",
        action: "ssm:GetParameter",
        resource: w.parameter(name),
        expect: "deny",
        why: `another SSM parameter (${name}): AmazonSSMManagedInstanceCore allowed it`,
      }),
    ),
    {
      principal: "instance",
      action: "ssm:GetParameters",
      resource: w.parameter(`/${appName}/${envName}/Other`),
      expect: "deny",
      why: "GetParameters, also in AmazonSSMManagedInstanceCore on *",
    },
    {
      principal: "instance",
      action: "ssm:GetParametersByPath",
      resource: w.parameter(`/${appName}`),
      expect: "deny",
      why: "reading a whole parameter path",
    },
    {
      principal: "instance",
      action: "ssm:PutParameter",
      resource: w.parameter(w.parameterName),
      expect: "deny",
      why: "rewriting the cache address",
    },
    {
      principal: "instance",
      action: "s3:PutObject",
      resource: w.artifact("Bundle"),
      expect: "deny",
      why: "instances only read revisions: no writing a bundle the pipeline would deploy",
    },
    {
      principal: "instance",
      action: "s3:DeleteObject",
      resource: w.artifact("Bundle"),
      expect: "deny",
      why: "deleting a revision",
    },
    {
      principal: "instance",
      action: "s3:ListBucket",
      resource: `arn:${partition}:s3:::${w.artifactBucket}`,
      expect: "deny",
      why: "listing the artifact bucket (source zips of every build)",
    },
    {
      principal: "instance",
      action: "s3:GetObject",
      resource: `arn:${partition}:s3:::another-stack-artifactsbucket-1a2b3c4d/app/Bundle/Xy12Ab3`,
      expect: "deny",
      why: "another stack's bucket",
    },
    {
      principal: "instance",
      action: "s3:GetObject",
      resource: `arn:${partition}:s3:::${w.accessLogsBucket}/alb/AWSLogs/${accountId}/x.log.gz`,
      expect: "deny",
      why: "the access logs",
    },
    {
      principal: "instance",
      action: "s3:GetObject",
      resource: w.artifact("Bundle"),
      context: PLAIN_HTTP,
      expect: "explicit deny",
      why: "the artifact bucket refuses requests without TLS, whoever asks",
    },
    {
      principal: "instance",
      action: "logs:PutLogEvents",
      resource: w.logStream(w.buildLogGroup, INSTANCE_ID),
      expect: "deny",
      why: "another log group of the stack (the build's)",
    },
    {
      principal: "instance",
      action: "logs:PutLogEvents",
      resource: w.logStream(`/other/${envName}/web`, INSTANCE_ID),
      expect: "deny",
      why: "another stack's log group",
    },
    {
      principal: "instance",
      action: "logs:CreateLogGroup",
      resource: w.logGroupAction(`/${appName}/${envName}/new`),
      expect: "deny",
      why: "the stack creates the groups (with retention); the agent needs not",
    },
    {
      principal: "instance",
      action: "codedeploy-commands-secure:PollHostCommand",
      resource: "*",
      expect: "deny",
      why: "only with the agent's :enable_auth_policy: (VPC interface endpoints), not used here",
    },
    {
      principal: "instance",
      action: "cloudformation:SignalResource",
      resource: String(w.stack.resolve({ Ref: "AWS::StackId" })),
      expect: "deny",
      why: "cfn-signal without --role signs with the instance identity document, not the role",
    },
    {
      principal: "instance",
      action: "iam:PassRole",
      resource: w.principals.instance.roleArn,
      expect: "deny",
      why: "no passing its own role to a new instance",
    },
    // ── CodeBuild (the build project's service role) ───────────────────────────────────
    {
      principal: "build",
      action: "logs:CreateLogStream",
      resource: w.logStream(w.buildLogGroup, BUILD_ID),
      expect: "allow",
      why: "CodeBuild: the build's log stream",
    },
    {
      principal: "build",
      action: "logs:PutLogEvents",
      resource: w.logStream(w.buildLogGroup, BUILD_ID),
      expect: "allow",
      why: "CodeBuild: build output",
    },
    {
      principal: "build",
      action: "s3:GetObject",
      resource: w.artifact("Source"),
      expect: "allow",
      why: "CodeBuild: the source zip the source action wrote",
    },
    {
      principal: "build",
      action: "s3:PutObject",
      resource: w.artifact("Bundle"),
      expect: "allow",
      why: "CodeBuild: uploads the bundle",
    },
    ...["s3:GetBucketAcl", "s3:GetBucketLocation"].map(
      (action): Row => ({
        principal: "build",
        action,
        resource: `arn:${partition}:s3:::${w.artifactBucket}`,
        expect: "allow",
        why: "CodeBuild: checks the artifact bucket before using it",
      }),
    ),
    ...w.reportGroups.flatMap((reportGroup) =>
      [
        "codebuild:CreateReportGroup",
        "codebuild:CreateReport",
        "codebuild:UpdateReport",
        "codebuild:BatchPutTestCases",
      ].map(
        (action): Row => ({
          principal: "build",
          action,
          resource: w.arn("codebuild", `report-group/${reportGroup}`),
          expect: "allow",
          why: `CodeBuild: test report group ${reportGroup} (buildspec.yml reports)`,
        }),
      ),
    ),
    {
      principal: "build",
      action: "codebuild:CreateReport",
      resource: w.arn("codebuild", "report-group/another-project-tests"),
      expect: "deny",
      why: "another project's report group",
    },
    {
      principal: "build",
      action: "s3:PutObject",
      resource: `arn:${partition}:s3:::another-stack-artifactsbucket-1a2b3c4d/x.zip`,
      expect: "deny",
      why: "another bucket",
    },
    {
      principal: "build",
      action: "s3:PutObject",
      resource: w.artifact("Bundle"),
      context: PLAIN_HTTP,
      expect: "explicit deny",
      why: "TLS-only bucket",
    },
    {
      principal: "build",
      action: "secretsmanager:GetSecretValue",
      resource: w.secret,
      expect: "deny",
      why: "the build needs no runtime secret",
    },
    {
      principal: "build",
      action: "dynamodb:Scan",
      resource: w.table,
      expect: "deny",
      why: "the build never reads production data",
    },
    {
      principal: "build",
      action: "logs:PutLogEvents",
      resource: w.logStream(`/${appName}/${envName}/web`, BUILD_ID),
      expect: "deny",
      why: "the instances' log groups",
    },
    // ── CodePipeline (the pipeline role, then the action roles it assumes) ────────────────
    ...(["sourceAction", "buildAction", "deployAction"] as const).map(
      (role): Row => ({
        principal: "pipeline",
        action: "sts:AssumeRole",
        resource: w.principals[role].roleArn,
        expect: "allow",
        why: `CodePipeline: runs the ${role.replace("Action", "")} action as its role`,
      }),
    ),
    {
      principal: "pipeline",
      action: "s3:GetObject",
      resource: w.artifact("Bundle"),
      expect: "allow",
      why: "CodePipeline: moves artifacts between stages",
    },
    {
      principal: "pipeline",
      action: "s3:PutObject",
      resource: w.artifact("Source"),
      expect: "allow",
      why: "CodePipeline: stores stage artifacts",
    },
    {
      principal: "pipeline",
      action: "sts:AssumeRole",
      resource: w.principals.instance.roleArn,
      expect: "deny",
      why: "the instance role trusts EC2 only",
    },
    {
      principal: "pipeline",
      action: "sts:AssumeRole",
      resource: `arn:${partition}:iam::${accountId}:role/another-role`,
      expect: "deny",
      why: "any other role",
    },
    {
      principal: "build",
      action: "sts:AssumeRole",
      resource: w.principals.sourceAction.roleArn,
      expect: "deny",
      why: "the action roles trust the pipeline role only",
    },
    {
      principal: "sourceAction",
      action: w.connectionArn.includes(":codeconnections:")
        ? "codeconnections:UseConnection"
        : "codestar-connections:UseConnection",
      resource: w.connectionArn,
      expect: "allow",
      why: "source action: pulls the branch through the GitHub connection (prefix of its ARN)",
    },
    {
      principal: "sourceAction",
      action: "s3:PutObject",
      resource: w.artifact("Source"),
      expect: "allow",
      why: "source action: writes the repository zip",
    },
    {
      principal: "sourceAction",
      action: "codeconnections:UseConnection",
      resource: w.arn("codeconnections", "connection/99999999-8888-7777-6666-555555555555"),
      expect: "deny",
      why: "another connection",
    },
    {
      principal: "pipeline",
      action: "codeconnections:UseConnection",
      resource: w.connectionArn.replace(":codestar-connections:", ":codeconnections:"),
      expect: "deny",
      why: "only the source action's role uses the connection",
    },
    {
      principal: "buildAction",
      action: "codebuild:StartBuild",
      resource: w.projectArn,
      expect: "allow",
      why: "build action: starts the build",
    },
    {
      principal: "buildAction",
      action: "codebuild:BatchGetBuilds",
      resource: w.projectArn,
      expect: "allow",
      why: "build action: follows it",
    },
    {
      principal: "buildAction",
      action: "codebuild:StartBuild",
      resource: w.arn("codebuild", "project/another-project"),
      expect: "deny",
      why: "another project",
    },
    ...[
      ["codedeploy:CreateDeployment", w.deploymentGroupArn],
      ["codedeploy:GetDeployment", w.deploymentGroupArn],
      [
        "codedeploy:GetDeploymentConfig",
        w.arn("codedeploy", `deploymentconfig:${w.deploymentConfig}`),
      ],
      [
        "codedeploy:RegisterApplicationRevision",
        w.arn("codedeploy", `application:${w.application}`),
      ],
      ["codedeploy:GetApplicationRevision", w.arn("codedeploy", `application:${w.application}`)],
      ["s3:GetObject", w.artifact("Bundle")],
    ].map(
      ([action, resource]): Row => ({
        principal: "deployAction",
        action: action!,
        resource: resource!,
        expect: "allow",
        why: "deploy action: registers the bundle and starts the CodeDeploy deployment",
      }),
    ),
    {
      principal: "deployAction",
      action: "codedeploy:CreateDeployment",
      resource: w.arn("codedeploy", "deploymentgroup:another-app/another-group"),
      expect: "deny",
      why: "another application's deployment group",
    },
    {
      principal: "deployAction",
      action: "codedeploy:GetDeploymentConfig",
      resource: w.arn(
        "codedeploy",
        `deploymentconfig:CodeDeployDefault.${w.deploymentConfig.endsWith("AllAtOnce") ? "OneAtATime" : "AllAtOnce"}`,
      ),
      expect: "deny",
      why: "a deployment configuration other than the DeploymentStrategy parameter's",
    },
    {
      principal: "deployAction",
      action: "s3:PutObject",
      resource: w.artifact("Bundle"),
      expect: "deny",
      why: "the deploy action only reads the bundle",
    },
    // ── CodeDeploy (service role, AWSCodeDeployRole) ───────────────────────────────────
    ...[
      ["autoscaling:DescribeAutoScalingGroups", "*"],
      ["autoscaling:PutLifecycleHook", w.autoScalingGroupArn],
      ["autoscaling:CompleteLifecycleAction", w.autoScalingGroupArn],
      ["autoscaling:RecordLifecycleActionHeartbeat", w.autoScalingGroupArn],
      ["ec2:DescribeInstances", "*"],
      ["elasticloadbalancing:DescribeTargetHealth", "*"],
      ["elasticloadbalancing:DeregisterTargets", w.targetGroup],
      ["elasticloadbalancing:RegisterTargets", w.targetGroup],
      ["cloudwatch:DescribeAlarms", w.arn("cloudwatch", `alarm:${appName}-${envName}-5xx`)],
      ["tag:GetResources", "*"],
    ].map(
      ([action, resource]): Row => ({
        principal: "codedeploy",
        action: action!,
        resource: resource!,
        expect: "allow",
        why: "CodeDeploy: launch hook, traffic control (drain, re-register), rollback alarms",
      }),
    ),
    {
      principal: "codedeploy",
      action: "s3:GetObject",
      resource: w.artifact("Bundle"),
      expect: "deny",
      why: "the agent downloads the bundle, not the service role",
    },
    {
      principal: "codedeploy",
      action: "dynamodb:Scan",
      resource: w.table,
      expect: "deny",
      why: "no data access",
    },
    // ── VPC flow logs (rejected traffic) ───────────────────────────────────────────────
    ...["logs:CreateLogStream", "logs:PutLogEvents"].map(
      (action): Row => ({
        principal: "flowLogs",
        action,
        resource: w.logStream(w.flowLogGroup, "eni-0123456789abcdef0-all"),
        expect: "allow",
        why: "VPC flow logs: one stream per network interface",
      }),
    ),
    {
      principal: "flowLogs",
      action: "logs:PutLogEvents",
      resource: w.logStream(`/${appName}/${envName}/web`, "eni-0123456789abcdef0-all"),
      expect: "deny",
      why: "another log group",
    },
    // ── services: trust policies and the access-log bucket's delivery grants ──────────────
    ...(
      [
        ["ec2.amazonaws.com", "instance"],
        ["codebuild.amazonaws.com", "build"],
        ["codepipeline.amazonaws.com", "pipeline"],
        ["codedeploy.amazonaws.com", "codedeploy"],
        ["vpc-flow-logs.amazonaws.com", "flowLogs"],
      ] as const
    ).map(
      ([service, role]): Row => ({
        principal: service,
        action: "sts:AssumeRole",
        resource: w.principals[role].roleArn,
        expect: "allow",
        why: `${service} assumes the ${role} role`,
      }),
    ),
    {
      principal: "ec2.amazonaws.com",
      action: "sts:AssumeRole",
      resource: w.principals.build.roleArn,
      expect: "deny",
      why: "an instance profile cannot carry the build role",
    },
    {
      principal: "codebuild.amazonaws.com",
      action: "sts:AssumeRole",
      resource: w.principals.pipeline.roleArn,
      expect: "deny",
      why: "a build cannot run as the pipeline",
    },
    {
      principal: "logdelivery.elasticloadbalancing.amazonaws.com",
      action: "s3:PutObject",
      resource: `arn:${partition}:s3:::${w.accessLogsBucket}/alb/AWSLogs/${accountId}/elasticloadbalancing/${region}/2026/12/01/x.log.gz`,
      expect: "allow",
      why: "ALB access logs, under alb/ for this account",
    },
    {
      principal: "logdelivery.elasticloadbalancing.amazonaws.com",
      action: "s3:PutObject",
      resource: `arn:${partition}:s3:::${w.accessLogsBucket}/artifact-bucket/x`,
      expect: "deny",
      why: "outside its prefix",
    },
    {
      principal: "logging.s3.amazonaws.com",
      action: "s3:PutObject",
      resource: `arn:${partition}:s3:::${w.accessLogsBucket}/artifact-bucket/2026-12-01-00-00-00-ABCDEF`,
      context: {
        "aws:SourceArn": `arn:${partition}:s3:::${w.artifactBucket}`,
        "aws:SourceAccount": accountId,
      },
      expect: "allow",
      why: "S3 server access logs of the artifact bucket",
    },
    {
      principal: "logging.s3.amazonaws.com",
      action: "s3:PutObject",
      resource: `arn:${partition}:s3:::${w.accessLogsBucket}/artifact-bucket/2026-12-01-00-00-00-ABCDEF`,
      context: {
        "aws:SourceArn": `arn:${partition}:s3:::another-bucket`,
        "aws:SourceAccount": accountId,
      },
      expect: "deny",
      why: "server access logs of a bucket the stack does not own (confused deputy)",
    },
  ];
}

function matches(decision: Decision, expect: Expect): boolean {
  if (expect === "allow") return decision === "Allowed";
  if (expect === "explicit deny") return decision === "ExplicitlyDenied";
  return decision !== "Allowed";
}

for (const deployment of deployments) {
  const stack = resolveStack(template, { ...deployment, ssmParameters });
  const w = worldOf(stack);
  describe(`IAM of stack ${deployment.stackName} in ${deployment.region}`, () => {
    for (const row of calls(w)) {
      const who = row.principal.includes(".") ? row.principal : `${row.principal} role`;
      test(`${row.expect}: ${who} ${row.action} on ${row.resource} (${row.why})`, async () => {
        const principal = row.principal.includes(".")
          ? row.principal
          : w.principals[row.principal as keyof World["principals"]];
        const session =
          row.principal === "instance"
            ? INSTANCE_ID
            : row.principal === "build"
              ? BUILD_ID
              : undefined;
        const result = await evaluate(stack, {
          principal,
          action: row.action,
          resource: row.resource,
          ...(row.context ? { context: row.context } : {}),
          ...(session ? { session } : {}),
        });
        assert.ok(
          matches(result.decision, row.expect),
          `expected ${row.expect}, the engine says ${result.decision}: ${JSON.stringify(result.detail, null, 1).slice(0, 6000)}`,
        );
      });
    }
  });
}

describe("the call list covers what the code and the template do", () => {
  const stack = resolveStack(template, { ...deployments[0]!, ssmParameters });
  const w = worldOf(stack);
  const rows = calls(w);
  const allowed = new Set(
    rows.filter((r) => r.principal === "instance" && r.expect === "allow").map((r) => r.action),
  );

  test("every AWS command the web sends has an allowed row for the instance role", () => {
    // SDK command class → IAM action, per client package (lib-dynamodb's commands are the
    // document-client names of the item APIs).
    const service: Record<string, string> = {
      "@aws-sdk/client-dynamodb": "dynamodb",
      "@aws-sdk/lib-dynamodb": "dynamodb",
      "@aws-sdk/client-ssm": "ssm",
      "@aws-sdk/client-secrets-manager": "secretsmanager",
    };
    const documentClient: Record<string, string> = {
      Get: "GetItem",
      Put: "PutItem",
      Update: "UpdateItem",
      Delete: "DeleteItem",
      Scan: "Scan",
      Query: "Query",
      BatchGet: "BatchGetItem",
      BatchWrite: "BatchWriteItem",
      TransactGet: "GetItem",
      TransactWrite: "PutItem",
    };
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((name) => {
        const full = join(dir, name);
        return statSync(full).isDirectory() ? files(full) : full.endsWith(".ts") ? [full] : [];
      });
    const sent: string[] = [];
    for (const file of files(join(root, "web/src"))) {
      const source = readFileSync(file, "utf8");
      for (const [, names, from] of source.matchAll(
        /import\s*\{([^}]*)\}\s*from\s*"(@aws-sdk\/[\w-]+)"/g,
      )) {
        for (const raw of names!.split(",")) {
          const name = raw.replace(/^\s*type\s+/, "").trim();
          const command = /^(\w+)Command$/.exec(name)?.[1];
          if (!command) continue;
          const prefix = service[from!];
          assert.ok(prefix, `${file}: ${from} has no IAM mapping here; add it`);
          const action = from === "@aws-sdk/lib-dynamodb" ? documentClient[command] : command;
          assert.ok(action, `${file}: ${name} has no IAM mapping here; add it`);
          sent.push(`${prefix}:${action}`);
        }
      }
    }
    assert.ok(sent.length >= 8, `found only ${sent.join(", ")}`);
    for (const action of sent) assert.ok(allowed.has(action), `${action} has no allowed row`);
  });

  test("every log group the CloudWatch agent names exists in the template", () => {
    const groups = new Set(
      Object.values(stack.resources)
        .filter((r) => r.type === "AWS::Logs::LogGroup")
        .map((r) => r.ref),
    );
    const named = agentLogDestinations(w).map((d) => d.group);
    assert.ok(named.length >= 3, named.join(", "));
    for (const group of named) assert.ok(groups.has(group), `${group} is not in the template`);
  });

  test("no key policy decides: the secret, the parameter and the buckets use AWS-managed encryption", () => {
    // With a customer-managed KMS key, reading the secret or a revision would also need
    // kms:Decrypt (and the key policy): rows this list does not have.
    for (const [id, r] of Object.entries(stack.resources)) {
      if (r.type === "AWS::SecretsManager::Secret")
        assert.equal(r.properties.KmsKeyId, undefined, id);
      if (r.type === "AWS::SSM::Parameter") assert.equal(r.properties.Type, "String", id);
      if (r.type === "AWS::S3::Bucket") {
        assert.deepEqual(
          JSON.stringify(r.properties.BucketEncryption),
          JSON.stringify({
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } },
            ],
          }),
          id,
        );
      }
    }
    assert.equal(idsOfType(stack, "AWS::KMS::Key").length, 0);
  });

  test("the only AWS managed policy is AWSCodeDeployRole, at the version reviewed", () => {
    // Reviewed against AWS's managed policy reference on 2026-12-01: v11, edited 2023-08-16.
    // A new version changes what the CodeDeploy rows evaluate: review it, then update this.
    const managed = awsManagedPoliciesOf(stack).map((m) => `${m.arnPath}@${m.versionId}`);
    assert.deepEqual(managed, ["policy/service-role/AWSCodeDeployRole@v11"]);
  });

  test("the instance role's only statements on * are the SSM agent's registration and channels", () => {
    const wildcard = w.principals.instance.identityPolicies.flatMap((p) =>
      ([] as Array<Record<string, unknown>>)
        .concat(p.policy.Statement as Array<Record<string, unknown>>)
        .filter((s) => ([] as unknown[]).concat(s.Resource).includes("*"))
        .flatMap((s) => ([] as string[]).concat(s.Action as string[])),
    );
    assert.ok(wildcard.length > 0);
    for (const action of wildcard) {
      assert.match(
        action,
        /^(ssmmessages:|ec2messages:|ssm:UpdateInstanceInformation$)/,
        `${action} on *`,
      );
    }
  });
});

describe("the evaluator fails closed", () => {
  const context = { stackName: "tiny", region: "eu-west-3", accountId: "111122223333" };
  const role = (extra: Record<string, unknown> = {}) => ({
    Type: "AWS::IAM::Role",
    Properties: {
      AssumeRolePolicyDocument: {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "ec2.amazonaws.com" },
            Action: "sts:AssumeRole",
          },
        ],
      },
      ...extra,
    },
  });
  const readTable = {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Action: "dynamodb:GetItem",
        Resource: "arn:aws:dynamodb:eu-west-3:111122223333:table/t",
      },
    ],
  };
  const table = "arn:aws:dynamodb:eu-west-3:111122223333:table/t";

  test("a customer managed policy attached by ARN is evaluated (Ref of a managed policy is its ARN)", async () => {
    const stack = resolveStack(
      {
        Resources: {
          Managed: { Type: "AWS::IAM::ManagedPolicy", Properties: { PolicyDocument: readTable } },
          R: role({ ManagedPolicyArns: [{ Ref: "Managed" }] }),
        },
      },
      context,
    );
    const r = stackRole(stack, "R");
    assert.deepEqual(
      r.identityPolicies.map((p) => p.name),
      ["Managed"],
    );
    const result = await evaluate(stack, {
      principal: r,
      action: "dynamodb:GetItem",
      resource: table,
    });
    assert.equal(result.decision, "Allowed");
  });

  test("a managed policy ARN that is neither the stack's nor AWS's stops the evaluation", () => {
    const stack = resolveStack(
      {
        Resources: {
          R: role({ ManagedPolicyArns: ["arn:aws:iam::111122223333:policy/made-elsewhere"] }),
        },
      },
      context,
    );
    assert.throws(() => stackRole(stack, "R"), /not an AWS managed policy/);
    const unknown = resolveStack(
      {
        Resources: { R: role({ ManagedPolicyArns: ["arn:aws:iam::aws:policy/NoSuchPolicyXyz"] }) },
      },
      context,
    );
    assert.throws(() => stackRole(unknown, "R"), /unknown to the policy data/);
  });

  test("a resource-policy type the evaluator does not map stops the evaluation", async () => {
    const resolved = resolveStack(
      { Resources: { R: role({ Policies: [{ PolicyName: "p", PolicyDocument: readTable }] }) } },
      context,
    );
    // The resolver models no queue yet (it would refuse the template first): added to its
    // output, as it would appear once modelled, to reach the evaluator's own check.
    const stack: ResolvedStack = {
      ...resolved,
      resources: {
        ...resolved.resources,
        Q: { type: "AWS::SQS::QueuePolicy", properties: { PolicyDocument: readTable }, ref: "q" },
      },
    };
    await assert.rejects(
      evaluate(stack, {
        principal: stackRole(stack, "R"),
        action: "dynamodb:GetItem",
        resource: table,
      }),
      /QueuePolicy policies are not evaluated here/,
    );
  });

  test("a misspelt action, a resource of the wrong type or a context key that cannot apply is an error, not a denial", async () => {
    const stack = resolveStack(
      { Resources: { R: role({ Policies: [{ PolicyName: "p", PolicyDocument: readTable }] }) } },
      context,
    );
    const principal = stackRole(stack, "R");
    await assert.rejects(
      evaluate(stack, { principal, action: "dynamodb:GetItm", resource: table }),
      /refused the request/,
    );
    await assert.rejects(
      evaluate(stack, {
        principal,
        action: "dynamodb:GetItem",
        resource: "arn:aws:s3:::bucket/key",
      }),
      /refused the request/,
    );
    await assert.rejects(
      evaluate(stack, {
        principal,
        action: "dynamodb:GetItem",
        resource: table,
        context: { "s3:prefix": "x/" },
      }),
      /do not apply/,
    );
  });
});
