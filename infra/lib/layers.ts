/**
 * The stack's five layers, each a function that creates its constructs directly under `stack`
 * (so logical ids are the same wherever the layer runs) from the parameters and from what the
 * layers below it expose. The one-shot stack (fleetline-stack.ts) runs all five and hands each
 * the real objects of the others; a layered piece (pieces.ts) runs one, and hands it objects
 * imported from the exports of the pieces deployed before it. No construct is created anywhere
 * else, so both ways deploy the same resources.
 *
 * The order is the deploy order of the pieces: network, data, cache, fleet, delivery. The
 * original deployed its table last although the instances' role names it; here the table comes
 * second, so the fleet's policy and bootstrap can name it from the start.
 */
import { Aws, CfnOutput, Fn, type Stack } from "aws-cdk-lib";
import type * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { IConstruct } from "constructs";
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
import type { StackParameters } from "./parameters.js";
import { Pipeline } from "./pipeline.js";
import { UsersTable } from "./table.js";

/** A stack output: its id, value and description. */
export interface OutputSpec {
  readonly id: string;
  readonly value: string;
  readonly description: string;
}

/** Declares `outputs` on `stack`. */
export function addOutputs(stack: Stack, outputs: readonly OutputSpec[]): void {
  for (const { id, value, description } of outputs) {
    new CfnOutput(stack, id, { value, description });
  }
}

/** What the layers above the network use of it. */
export interface NetworkRefs {
  readonly vpc: ec2.IVpc;
  /** Subnets of the internal ALB and of CloudFront's VPC origin (their CIDRs are admitted). */
  readonly appSubnets: readonly ec2.ISubnet[];
  /** Subnets of the cache. */
  readonly cacheSubnets: readonly ec2.ISubnet[];
  /** Subnets of the instances (public or App, chosen by InstanceSubnets). */
  readonly instanceSubnetIds: readonly string[];
}

export function networkLayer(
  stack: Stack,
  p: StackParameters,
): { network: Network; refs: NetworkRefs } {
  const network = new Network(stack, "Network", {
    name: p.prefix,
    flowLogGroupName: `${p.path}/vpc-flow`,
    logRetentionDays: p.logRetentionDays.valueAsNumber,
    natCondition: p.privateInstances,
  });
  const vpc = network.vpc;
  return {
    network,
    refs: {
      vpc,
      appSubnets: vpc.selectSubnets({ subnetGroupName: "App" }).subnets,
      cacheSubnets: vpc.selectSubnets({ subnetGroupName: "Cache" }).subnets,
      instanceSubnetIds: network.instanceSubnetIds,
    },
  };
}

/**
 * The Users table as its users see it. Not an ITable: the table is an L1 (its billing mode is a
 * condition), and the fleet needs only its name and ARN.
 */
export interface TableRefs {
  readonly tableName: string;
  readonly tableArn: string;
}

export function dataLayer(
  stack: Stack,
  p: StackParameters,
): { table: UsersTable; refs: TableRefs; outputs: OutputSpec[] } {
  const table = new UsersTable(stack, "Users", {
    provisioned: p.provisionedTable,
    readCapacity: p.tableReadCapacity.valueAsNumber,
    writeCapacity: p.tableWriteCapacity.valueAsNumber,
    deletionProtection: p.tableDeletionProtection.value,
  });
  return {
    table,
    refs: { tableName: table.tableName, tableArn: table.tableArn },
    outputs: [tableNameOutput(table.tableName)],
  };
}

export function tableNameOutput(tableName: string): OutputSpec {
  return {
    id: "UsersTableName",
    value: tableName,
    description: "DynamoDB Users table (retained on delete)",
  };
}

/** What the fleet uses of the cache. */
export interface CacheRefs {
  readonly securityGroup: ec2.ISecurityGroup;
  readonly port: number;
  readonly authSecret: secretsmanager.ISecret;
  /** `/<app>/<env>/CacheAddress`. */
  readonly addressParameterName: string;
  /** The address parameter, when it is in the same stack (instances wait for it). */
  readonly addressParameter?: IConstruct;
}

/** Port of the cache: not the well-known 6379, which scanners try first. */
export const CACHE_PORT = 6380;

/**
 * `<app>/<env>/CacheAddress`: the cache address parameter's name without its leading "/", the
 * one place it is spelled. The parameter is `/` + this; its ARN's resource name is this as is.
 */
function cacheAddressPath(p: StackParameters): string {
  return `${p.appName.valueAsString}/${p.envName.valueAsString}/CacheAddress`;
}

export function cacheLayer(
  stack: Stack,
  p: StackParameters,
  network: NetworkRefs,
): { cache: Cache; refs: CacheRefs; outputs: OutputSpec[] } {
  const addressParameterName = `/${cacheAddressPath(p)}`;
  const cache = new Cache(stack, "Cache", {
    vpc: network.vpc,
    subnets: [...network.cacheSubnets],
    replicationGroupId: p.prefix,
    addressParameterName,
    engine: p.cacheEngine.valueAsString,
    nodeType: p.cacheNodeType.valueAsString,
    nodeCount: p.cacheNodeCount.valueAsNumber,
    replicated: p.cacheReplicated,
    port: CACHE_PORT,
  });
  return {
    cache,
    refs: {
      securityGroup: cache.securityGroup,
      port: cache.port,
      authSecret: cache.authSecret,
      addressParameterName,
      addressParameter: cache.addressParameter,
    },
    outputs: [
      {
        id: "CacheAddressParameterName",
        value: cache.addressParameter.parameterName,
        description: "SSM parameter holding host:port of the key-ring cache",
      },
    ],
  };
}

/** What delivery uses of the fleet. */
export interface FleetRefs {
  readonly artifactBucket: s3.IBucket;
  readonly autoScalingGroup: autoscaling.IAutoScalingGroup;
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  /** The 5xx alarm: it rolls a deployment back. */
  readonly errorsAlarm: cloudwatch.IAlarm;
}

export interface FleetLayer {
  readonly alerts: Alerts;
  readonly logBucket: LogBucket;
  readonly artifacts: ArtifactBucket;
  readonly logGroups: InstanceLogGroups;
  readonly loadBalancer: LoadBalancer;
  readonly edge: Edge;
  readonly operators: Operators;
  readonly fleet: Fleet;
  readonly instancePolicy: InstancePolicy;
  readonly monitoring: Monitoring;
  readonly refs: FleetRefs;
  readonly outputs: OutputSpec[];
}

export function fleetLayer(
  stack: Stack,
  p: StackParameters,
  deps: { network: NetworkRefs; table: TableRefs; cache: CacheRefs },
): FleetLayer {
  const prefix = p.prefix;
  const path = p.path;
  const { vpc } = deps.network;

  const alerts = new Alerts(stack, "Alerts", {
    topicName: `${prefix}-alerts`,
    email: p.operatorEmail.valueAsString,
  });

  const logBucket = new LogBucket(stack, "AccessLogs");
  logBucket.allowLoadBalancerLogs("alb");
  const artifacts = new ArtifactBucket(stack, "Artifacts", {
    accessLogsBucket: logBucket.bucket,
  });

  const logGroups = new InstanceLogGroups(stack, "InstanceLogs", {
    prefix: path,
    retentionDays: p.logRetentionDays.valueAsNumber,
  });

  const loadBalancer = new LoadBalancer(stack, "LoadBalancer", {
    vpc,
    subnets: [...deps.network.appSubnets],
    accessLogsBucket: logBucket.bucket,
  });
  const edge = new Edge(stack, "Edge", {
    loadBalancer: loadBalancer.loadBalancer,
    domainNames: p.domainNames.valueAsString,
    certificateArn: p.certificateArn.valueAsString,
    customDomain: p.customDomain,
    webAclArn: p.webAclArn.valueAsString,
    webAclEnabled: p.webAclEnabled,
  });
  const operators = new Operators(stack, "Operators", {
    operatorEmail: p.operatorEmail.valueAsString,
    name: prefix,
    origins: [edge.defaultOrigin],
    conditionalOrigin: { condition: p.customDomain, origin: edge.customOrigin },
  });

  const fleet = new Fleet(stack, "Fleet", {
    name: prefix,
    vpc,
    subnetIds: [...deps.network.instanceSubnetIds],
    instanceType: p.instanceType.valueAsString,
    imageId: p.latestAmiId.valueAsString,
    minCapacity: p.minSize.valueAsNumber,
    desiredCapacity: p.desiredCapacity.valueAsNumber,
    maxCapacity: p.maxSize.valueAsNumber,
    notificationTopic: alerts.topic,
    bootstrap: {
      appName: p.appName.valueAsString,
      envName: p.envName.valueAsString,
      usersTableName: deps.table.tableName,
      cacheAddressParameterName: deps.cache.addressParameterName,
      cacheAuthSecretArn: deps.cache.authSecret.secretArn,
      vpcCidr: vpc.vpcCidrBlock,
      logPrefix: path,
      oidcIssuer: operators.issuer,
      oidcClientId: operators.client.userPoolClientId,
      oidcLogoutUrl: operators.logoutUrl,
      // The canonical origin first: the web builds its sign-in callback from it.
      publicOrigins: Fn.conditionIf(
        p.customDomain.logicalId,
        Fn.join(",", [edge.customOrigin, edge.defaultOrigin]),
        edge.defaultOrigin,
      ).toString(),
    },
  });
  const group = fleet.autoScalingGroup;

  // Only the load balancer reaches nginx; only the fleet reaches the cache.
  fleet.securityGroup.connections.allowFrom(
    loadBalancer.securityGroup,
    ec2.Port.tcp(80),
    "Load balancer to nginx",
  );
  Cache.allow(deps.cache.securityGroup, deps.cache.port, fleet.securityGroup);

  group.attachToApplicationTargetGroup(loadBalancer.targetGroup);
  // Register targets only once the target group is behind a listener, so the first ELB health
  // checks already count.
  group.node.addDependency(loadBalancer.httpListener);
  // Instances read the cache address and secret at start: both must exist first (in the pieces,
  // 03-cache is complete before 04-fleet starts).
  if (deps.cache.addressParameter) group.node.addDependency(deps.cache.addressParameter);

  const instancePolicy = new InstancePolicy(stack, "InstancePolicy", {
    role: fleet.role,
    tableArn: deps.table.tableArn,
    // Built from the name rather than the parameter's Ref, which the L2 would turn into an
    // ARN with a doubled slash for a name that starts with "/".
    cacheAddressParameterArn: stack.formatArn({
      service: "ssm",
      resource: "parameter",
      resourceName: cacheAddressPath(p),
    }),
    cacheAuthSecret: deps.cache.authSecret,
    artifactBucket: artifacts.bucket,
    logGroups: logGroups.all,
  });
  // The agents start during boot: their permissions (and, through them, the log groups) first.
  group.node.addDependency(instancePolicy);

  const monitoring = new Monitoring(stack, "Monitoring", {
    name: prefix,
    topic: alerts.topic,
    loadBalancer: loadBalancer.loadBalancer,
    targetGroup: loadBalancer.targetGroup,
    autoScalingGroupName: group.autoScalingGroupName,
    cacheReplicationGroupId: prefix,
    tableName: deps.table.tableName,
    distributionId: edge.distribution.distributionId,
  });

  const outputs: OutputSpec[] = [
    { id: "SiteUrl", value: edge.siteOrigin, description: "The site (HTTPS through CloudFront)" },
    {
      id: "SignInUrl",
      value: Fn.join("", [edge.siteOrigin, "/auth/sign-in"]),
      description:
        "Operators sign in here (the first one is invited by e-mail with a temporary password)",
    },
    {
      id: "DistributionDomainName",
      value: edge.distribution.distributionDomainName,
      description: "Point your domain names here (CNAME, or a Route 53 alias)",
    },
    {
      id: "OperatorsUserPoolId",
      value: operators.userPool.userPoolId,
      description:
        "Cognito user pool of the operators: invite more in the console (Users > Create user)",
    },
    {
      id: "DashboardUrl",
      value: Fn.join("", [
        "https://",
        Aws.REGION,
        ".console.aws.amazon.com/cloudwatch/home?region=",
        Aws.REGION,
        "#dashboards:name=",
        monitoring.dashboard.dashboardName,
      ]),
      description: "CloudWatch dashboard of the fleet, cache and table",
    },
    {
      id: "ArtifactBucketName",
      value: artifacts.bucket.bucketName,
      description: "Pipeline artifacts and revisions (retained on delete)",
    },
    {
      id: "AccessLogsBucketName",
      value: logBucket.bucket.bucketName,
      description: "ALB and S3 access logs (retained on delete)",
    },
  ];

  return {
    alerts,
    logBucket,
    artifacts,
    logGroups,
    loadBalancer,
    edge,
    operators,
    fleet,
    instancePolicy,
    monitoring,
    refs: {
      artifactBucket: artifacts.bucket,
      autoScalingGroup: group,
      targetGroup: loadBalancer.targetGroup,
      errorsAlarm: monitoring.errorsAlarm,
    },
    outputs,
  };
}

export function deliveryLayer(
  stack: Stack,
  p: StackParameters,
  fleet: FleetRefs,
): { deployment: Deployment; pipeline: Pipeline; outputs: OutputSpec[] } {
  const prefix = p.prefix;
  const deployment = new Deployment(stack, "Deployment", {
    name: prefix,
    autoScalingGroup: fleet.autoScalingGroup,
    targetGroup: fleet.targetGroup,
    deploymentConfigName: `CodeDeployDefault.${p.deploymentStrategy.valueAsString}`,
    rollbackAlarms: [fleet.errorsAlarm],
  });
  const pipeline = new Pipeline(stack, "Delivery", {
    name: prefix,
    buildLogGroupName: `${p.path}/build`,
    logRetentionDays: p.logRetentionDays.valueAsNumber,
    artifactBucket: fleet.artifactBucket,
    connectionArn: p.connectionArn.valueAsString,
    owner: p.repositoryOwner.valueAsString,
    repository: p.repositoryName.valueAsString,
    branch: p.branchName.valueAsString,
    deploymentGroup: deployment.deploymentGroup,
  });
  return {
    deployment,
    pipeline,
    outputs: [
      {
        id: "PipelineName",
        value: pipeline.pipeline.pipelineName,
        description: "CodePipeline run on each push",
      },
    ],
  };
}
