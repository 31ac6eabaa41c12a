import { CfnResource, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import * as codebuild from "aws-cdk-lib/aws-codebuild";
import type * as codedeploy from "aws-cdk-lib/aws-codedeploy";
import * as codepipeline from "aws-cdk-lib/aws-codepipeline";
import * as actions from "aws-cdk-lib/aws-codepipeline-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { acknowledgeControl } from "./guard.js";
import { acknowledgeBucketGrant } from "./nag.js";

export interface PipelineProps {
  /** Pipeline and build project name, e.g. `fleetline-prod`. */
  readonly name: string;
  /** Build log group name, e.g. `/fleetline/prod/build`. */
  readonly buildLogGroupName: string;
  /** Retention of the build log group in days (token from a parameter). */
  readonly logRetentionDays: number;
  readonly artifactBucket: s3.IBucket;
  /** CodeConnections (or CodeStar Connections) connection ARN to GitHub. */
  readonly connectionArn: string;
  readonly owner: string;
  readonly repository: string;
  readonly branch: string;
  readonly deploymentGroup: codedeploy.IServerDeploymentGroup;
  /**
   * Build image. @default LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_4_0 (Amazon Linux 2023 on
   * arm64 with Node 24: the fleet's OS, architecture and runtime, so the tests run where the
   * bundle will)
   */
  readonly buildImage?: codebuild.IBuildImage;
}

/**
 * Source (GitHub through a CodeConnections connection, on push) → Build (CodeBuild running the
 * repository's buildspec.yml: tests + bundle) → Deploy (CodeDeploy, see deployment.ts).
 */
export class Pipeline extends Construct {
  public readonly project: codebuild.PipelineProject;
  public readonly pipeline: codepipeline.Pipeline;
  public readonly buildLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);

    this.buildLogGroup = new logs.LogGroup(this, "BuildLogs", {
      logGroupName: props.buildLogGroupName,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    (this.buildLogGroup.node.defaultChild as logs.CfnLogGroup).retentionInDays =
      props.logRetentionDays;
    acknowledgeControl(
      this.buildLogGroup,
      "CT.CLOUDWATCH.PR.2",
      "Build logs matter until the next green build; the test reports and the bundle live in CodeBuild and the artifact bucket. Retention is the LogRetentionDays parameter (default 30, up to 3653), which the rule cannot read through the Ref.",
    );
    acknowledgeControl(
      this.buildLogGroup,
      "CT.CLOUDWATCH.PR.3",
      "Build output (npm, lint, test names) is encrypted at rest by CloudWatch Logs with its own keys; the build has no secrets to print, so a customer-managed key and its logs-service key policy would protect nothing more.",
    );

    this.project = new codebuild.PipelineProject(this, "Build", {
      projectName: props.name,
      description: "Runs buildspec.yml from the repository: tests, then the CodeDeploy bundle",
      environment: {
        buildImage: props.buildImage ?? codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_4_0,
        // ARM_CONTAINER small: 2 vCPUs, 4 GB (the x86 small has 3 GB).
        computeType: codebuild.ComputeType.SMALL,
      },
      // buildspec.yml's `cache.paths` (the npm cache) only take effect with a cache configured;
      // a local custom cache costs nothing and survives between builds on the same host.
      cache: codebuild.Cache.local(codebuild.LocalCacheMode.CUSTOM),
      timeout: Duration.minutes(30),
      logging: { cloudWatch: { logGroup: this.buildLogGroup } },
    });
    const stack = Stack.of(this);
    const projectId = stack.resolve(
      stack.getLogicalId(this.project.node.defaultChild as codebuild.CfnProject),
    );
    Validations.of(this.project).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/codebuild/<${projectId}>:*]`,
      reason:
        "Added by the CDK for the project's default log group (streams are named by build id); the project actually logs to its own /<app>/<env>/build group.",
    });
    Validations.of(this.project).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:codebuild:<AWS::Region>:<AWS::AccountId>:report-group/<${projectId}>-*]`,
      reason:
        "Test reports: report groups declared in buildspec.yml are created as <project>-<name>, so the grant is limited to this project's own prefix.",
    });
    Validations.of(this.project).acknowledge({
      id: "AwsSolutions-CB4",
      reason:
        "Build outputs (the bundle and test reports) land in the artifact bucket under SSE-S3, private and TLS-only; a customer-managed KMS key would also have to be granted to every instance role that downloads revisions, and would keep out no reader that the bucket policy and public-access block do not already stop.",
    });

    const pipelineRole = new iam.Role(this, "PipelineRole", {
      assumedBy: new iam.ServicePrincipal("codepipeline.amazonaws.com"),
    });
    // The source action role is explicit so it can also carry the codeconnections: action: the
    // L2 grants only the older codestar-connections: prefix, and IAM matches the prefix of the
    // connection's ARN (new connections are arn:aws:codeconnections:…).
    const sourceRole = new iam.Role(this, "SourceRole", {
      assumedBy: new iam.ArnPrincipal(pipelineRole.roleArn),
    });
    sourceRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ["codeconnections:UseConnection"],
        resources: [props.connectionArn],
      }),
    );

    const deployRole = new iam.Role(this, "DeployRole", {
      assumedBy: new iam.ArnPrincipal(pipelineRole.roleArn),
    });

    const source = new codepipeline.Artifact("Source");
    const bundle = new codepipeline.Artifact("Bundle");
    this.pipeline = new codepipeline.Pipeline(this, "Pipeline", {
      pipelineName: props.name,
      pipelineType: codepipeline.PipelineType.V2,
      artifactBucket: props.artifactBucket,
      role: pipelineRole,
      // Single account, single region: no KMS key for cross-account artifact access.
      crossAccountKeys: false,
      restartExecutionOnUpdate: false,
      stages: [
        {
          stageName: "Source",
          actions: [
            new actions.CodeStarConnectionsSourceAction({
              actionName: "GitHub",
              connectionArn: props.connectionArn,
              owner: props.owner,
              repo: props.repository,
              branch: props.branch,
              output: source,
              triggerOnPush: true,
              role: sourceRole,
            }),
          ],
        },
        {
          stageName: "Build",
          actions: [
            new actions.CodeBuildAction({
              actionName: "TestAndBundle",
              project: this.project,
              input: source,
              outputs: [bundle],
            }),
          ],
        },
        {
          stageName: "Deploy",
          actions: [
            new actions.CodeDeployServerDeployAction({
              actionName: "Fleet",
              input: bundle,
              deploymentGroup: props.deploymentGroup,
              role: deployRole,
            }),
          ],
        },
      ],
    });
    // The CDK also lists the role in DependsOn, which its RoleArn GetAtt already implies
    // (cfn-lint W3005); the role's default policy stays a dependency.
    const cfnPipeline = this.pipeline.node.defaultChild as CfnResource;
    const rolePolicy = pipelineRole.node.tryFindChild("DefaultPolicy")?.node.defaultChild;
    if (rolePolicy instanceof CfnResource) {
      cfnPipeline.addOverride("DependsOn", [Stack.of(this).getLogicalId(rolePolicy)]);
    }

    const readWrite = [
      "s3:GetObject*",
      "s3:GetBucket*",
      "s3:List*",
      "s3:DeleteObject*",
      "s3:Abort*",
    ];
    acknowledgeBucketGrant(
      this.project,
      props.artifactBucket,
      readWrite,
      "CDK grantReadWrite on the artifact bucket only: CodeBuild reads the source zip and writes the bundle under build-generated keys.",
    );
    acknowledgeBucketGrant(
      pipelineRole,
      props.artifactBucket,
      readWrite,
      "CDK grantReadWrite on the artifact bucket only: the pipeline moves artifacts between stages under execution-generated keys.",
    );
    acknowledgeBucketGrant(
      sourceRole,
      props.artifactBucket,
      readWrite,
      "CDK grantReadWrite on the artifact bucket only: the source action writes the repository zip under an execution-generated key.",
    );
    acknowledgeBucketGrant(
      deployRole,
      props.artifactBucket,
      ["s3:GetObject*", "s3:GetBucket*", "s3:List*"],
      "CDK grantRead on the artifact bucket only: the deploy action hands CodeDeploy the bundle's key, generated per execution.",
    );
  }
}
