import { Aws, CfnOutput, Fn, Stack, type StackProps } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import type { Construct } from "constructs";
import { Alerts } from "./alerts.js";
import { ArtifactBucket } from "./artifact-bucket.js";
import { Cache } from "./cache.js";
import { Deployment } from "./deployment.js";
import { Edge } from "./edge.js";
import { Fleet } from "./fleet.js";
import { InstancePolicy } from "./instance-policy.js";
import { LoadBalancer } from "./load-balancer.js";
import { LogBucket } from "./log-bucket.js";
import { InstanceLogGroups } from "./log-groups.js";
import { Monitoring } from "./monitoring.js";
import { Network } from "./network.js";
import { Operators } from "./operators.js";
import { StackParameters } from "./parameters.js";
import { Pipeline } from "./pipeline.js";
import { UsersTable } from "./table.js";

/**
 * The whole AWS side of fleetline in one environment-agnostic stack: every value that differs
 * between accounts is a CloudFormation parameter (see parameters.ts), so the synthesized template
 * is the deliverable. This class only wires the constructs together.
 */
export class FleetlineStack extends Stack {
  public readonly parameters: StackParameters;
  public readonly network: Network;
  public readonly table: UsersTable;
  public readonly cache: Cache;
  public readonly loadBalancer: LoadBalancer;
  public readonly edge: Edge;
  public readonly operators: Operators;
  public readonly fleet: Fleet;
  public readonly monitoring: Monitoring;
  public readonly deployment: Deployment;
  public readonly pipeline: Pipeline;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, {
      description:
        "fleetline: web fleet (ALB + Auto Scaling, AL2023), Valkey key ring, DynamoDB Users, CodePipeline from GitHub to CodeDeploy",
      ...props,
    });
    const p = new StackParameters(this);
    this.parameters = p;
    const prefix = p.prefix;
    const path = p.path;
    const retention = p.logRetentionDays.valueAsNumber;

    const alerts = new Alerts(this, "Alerts", {
      topicName: `${prefix}-alerts`,
      email: p.operatorEmail.valueAsString,
    });

    this.network = new Network(this, "Network", {
      name: prefix,
      flowLogGroupName: `${path}/vpc-flow`,
      logRetentionDays: retention,
      natCondition: p.privateInstances,
    });
    const vpc = this.network.vpc;

    const logBucket = new LogBucket(this, "AccessLogs");
    logBucket.allowLoadBalancerLogs("alb");
    const artifacts = new ArtifactBucket(this, "Artifacts", {
      accessLogsBucket: logBucket.bucket,
    });

    this.table = new UsersTable(this, "Users", {
      provisioned: p.provisionedTable,
      readCapacity: p.tableReadCapacity.valueAsNumber,
      writeCapacity: p.tableWriteCapacity.valueAsNumber,
      deletionProtection: p.tableDeletionProtection.value,
    });

    const cacheAddressParameterName = `${path}/CacheAddress`;
    this.cache = new Cache(this, "Cache", {
      vpc,
      subnets: vpc.selectSubnets({ subnetGroupName: "Cache" }).subnets,
      replicationGroupId: prefix,
      addressParameterName: cacheAddressParameterName,
      engine: p.cacheEngine.valueAsString,
      nodeType: p.cacheNodeType.valueAsString,
      nodeCount: p.cacheNodeCount.valueAsNumber,
      replicated: p.cacheReplicated,
    });

    const logGroups = new InstanceLogGroups(this, "InstanceLogs", {
      prefix: path,
      retentionDays: retention,
    });

    this.loadBalancer = new LoadBalancer(this, "LoadBalancer", {
      vpc,
      subnets: vpc.selectSubnets({ subnetGroupName: "App" }).subnets,
      accessLogsBucket: logBucket.bucket,
    });
    this.edge = new Edge(this, "Edge", {
      loadBalancer: this.loadBalancer.loadBalancer,
      domainNames: p.domainNames.valueAsString,
      certificateArn: p.certificateArn.valueAsString,
      customDomain: p.customDomain,
      webAclArn: p.webAclArn.valueAsString,
      webAclEnabled: p.webAclEnabled,
    });
    this.operators = new Operators(this, "Operators", {
      operatorEmail: p.operatorEmail.valueAsString,
      name: prefix,
      origins: [this.edge.defaultOrigin],
      conditionalOrigin: { condition: p.customDomain, origin: this.edge.customOrigin },
    });

    this.fleet = new Fleet(this, "Fleet", {
      name: prefix,
      vpc,
      subnetIds: this.network.instanceSubnetIds,
      instanceType: p.instanceType.valueAsString,
      imageId: p.latestAmiId.valueAsString,
      minCapacity: p.minSize.valueAsNumber,
      desiredCapacity: p.desiredCapacity.valueAsNumber,
      maxCapacity: p.maxSize.valueAsNumber,
      notificationTopic: alerts.topic,
      bootstrap: {
        appName: p.appName.valueAsString,
        envName: p.envName.valueAsString,
        usersTableName: this.table.tableName,
        cacheAddressParameterName,
        cacheAuthSecretArn: this.cache.authSecret.secretArn,
        vpcCidr: vpc.vpcCidrBlock,
        logPrefix: path,
        oidcIssuer: this.operators.issuer,
        oidcClientId: this.operators.client.userPoolClientId,
        oidcLogoutUrl: this.operators.logoutUrl,
        // The canonical origin first: the web builds its sign-in callback from it.
        publicOrigins: Fn.conditionIf(
          p.customDomain.logicalId,
          Fn.join(",", [this.edge.customOrigin, this.edge.defaultOrigin]),
          this.edge.defaultOrigin,
        ).toString(),
      },
    });
    const group = this.fleet.autoScalingGroup;

    // Only the load balancer reaches nginx; only the fleet reaches the cache.
    this.fleet.securityGroup.connections.allowFrom(
      this.loadBalancer.securityGroup,
      ec2.Port.tcp(80),
      "Load balancer to nginx",
    );
    this.cache.allowFrom(this.fleet.securityGroup);

    group.attachToApplicationTargetGroup(this.loadBalancer.targetGroup);
    // Register targets only once the target group is behind a listener, so the first ELB health
    // checks already count.
    group.node.addDependency(this.loadBalancer.httpListener);
    // Instances read the cache address and secret at start: both must exist first.
    group.node.addDependency(this.cache.addressParameter);

    const instancePolicy = new InstancePolicy(this, "InstancePolicy", {
      role: this.fleet.role,
      tableArn: this.table.tableArn,
      // Built from the name rather than the parameter's Ref, which the L2 would turn into an
      // ARN with a doubled slash for a name that starts with "/".
      cacheAddressParameterArn: this.formatArn({
        service: "ssm",
        resource: "parameter",
        resourceName: `${p.appName.valueAsString}/${p.envName.valueAsString}/CacheAddress`,
      }),
      cacheAuthSecret: this.cache.authSecret,
      artifactBucket: artifacts.bucket,
      logGroups: logGroups.all,
    });
    // The agents start during boot: their permissions (and, through them, the log groups) first.
    group.node.addDependency(instancePolicy);

    this.monitoring = new Monitoring(this, "Monitoring", {
      name: prefix,
      topic: alerts.topic,
      loadBalancerFullName: this.loadBalancer.loadBalancer.loadBalancerFullName,
      targetGroupFullName: this.loadBalancer.targetGroup.targetGroupFullName,
      autoScalingGroupName: group.autoScalingGroupName,
      cacheReplicationGroupId: prefix,
      tableName: this.table.tableName,
    });

    this.deployment = new Deployment(this, "Deployment", {
      name: prefix,
      autoScalingGroup: group,
      targetGroup: this.loadBalancer.targetGroup,
      deploymentConfigName: `CodeDeployDefault.${p.deploymentStrategy.valueAsString}`,
      rollbackAlarms: [this.monitoring.errorsAlarm],
    });

    this.pipeline = new Pipeline(this, "Delivery", {
      name: prefix,
      buildLogGroupName: `${path}/build`,
      logRetentionDays: retention,
      artifactBucket: artifacts.bucket,
      connectionArn: p.connectionArn.valueAsString,
      owner: p.repositoryOwner.valueAsString,
      repository: p.repositoryName.valueAsString,
      branch: p.branchName.valueAsString,
      deploymentGroup: this.deployment.deploymentGroup,
    });

    const output = (id: string, value: string, description: string): void => {
      new CfnOutput(this, id, { value, description });
    };
    output("SiteUrl", this.edge.siteOrigin, "The site (HTTPS through CloudFront)");
    output(
      "SignInUrl",
      Fn.join("", [this.edge.siteOrigin, "/auth/sign-in"]),
      "Operators sign in here (the first one is invited by e-mail with a temporary password)",
    );
    output(
      "DistributionDomainName",
      this.edge.distribution.distributionDomainName,
      "Point your domain names here (CNAME, or a Route 53 alias)",
    );
    output(
      "OperatorsUserPoolId",
      this.operators.userPool.userPoolId,
      "Cognito user pool of the operators: invite more in the console (Users > Create user)",
    );
    output(
      "DashboardUrl",
      Fn.join("", [
        "https://",
        Aws.REGION,
        ".console.aws.amazon.com/cloudwatch/home?region=",
        Aws.REGION,
        "#dashboards:name=",
        this.monitoring.dashboard.dashboardName,
      ]),
      "CloudWatch dashboard of the fleet, cache and table",
    );
    output("PipelineName", this.pipeline.pipeline.pipelineName, "CodePipeline run on each push");
    output("UsersTableName", this.table.tableName, "DynamoDB Users table (retained on delete)");
    output(
      "CacheAddressParameterName",
      this.cache.addressParameter.parameterName,
      "SSM parameter holding host:port of the key-ring cache",
    );
    output(
      "ArtifactBucketName",
      artifacts.bucket.bucketName,
      "Pipeline artifacts and revisions (retained on delete)",
    );
    output(
      "AccessLogsBucketName",
      logBucket.bucket.bucketName,
      "ALB and S3 access logs (retained on delete)",
    );
  }
}
