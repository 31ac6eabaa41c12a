/**
 * The layered templates (cloudformation/pieces/NN-<name>.template.json): the one-shot stack cut
 * into its five layers, one stack each, deployable one after the other from the console or with
 * `npm run deploy -- --pieces`. Each piece runs one layer function of layers.ts (the very
 * constructs the one-shot stack runs), declares only the parameters that layer reads, and finds
 * what lower layers created through CloudFormation exports named `<AppName>-<EnvName>-<Key>`.
 *
 * Bring-your-own: `01-network.existing` and `02-data.existing` take the place of 01-network and
 * 02-data. They create nothing (one no-op WaitConditionHandle, since a template needs a resource)
 * and re-export the IDs given as parameters under the same export names, so the pieces above
 * import the same names whichever network or table lies below, with no Fn::If around
 * Fn::ImportValue and no second code path in the layers.
 */
import {
  CfnOutput,
  CfnWaitConditionHandle,
  Fn,
  Stack,
  type StackProps,
  Validations,
} from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import {
  CACHE_PORT,
  type CacheRefs,
  cacheLayer,
  dataLayer,
  deliveryLayer,
  type FleetRefs,
  fleetLayer,
  type NetworkRefs,
  networkLayer,
  type OutputSpec,
  type TableRefs,
} from "./layers.js";
import { type ParameterName, StackParameters } from "./parameters.js";
import { type PieceEntry, pieceEntry } from "./piece-catalog.js";

/** One layered template: its place (piece-catalog.ts) and what it builds. */
export interface PieceDefinition extends PieceEntry {
  readonly description: string;
  /** Parameters it declares, a subset of the one-shot's plus the Existing* ones. */
  readonly parameters: readonly ParameterName[];
  readonly build: (stack: Stack, p: StackParameters) => void;
}

/** `<AppName>-<EnvName>-<key>`, the name of an export (a deploy-time string). */
export function exportName(key: string): string {
  return Fn.sub(`\${AppName}-\${EnvName}-${key}`);
}

/** The value an earlier piece exported under `key`. */
export function importValue(key: string): string {
  return Fn.importValue(exportName(key));
}

/** Declares `spec` as an output of `stack`, exported under its id when `exported`. */
function output(stack: Stack, spec: OutputSpec, exported = false): void {
  new CfnOutput(stack, spec.id, {
    value: spec.value,
    description: spec.description,
    exportName: exported ? exportName(spec.id) : undefined,
  });
}

function exportValue(stack: Stack, key: string, value: string, description: string): void {
  output(stack, { id: key, value, description }, true);
}

/** Exports of the network layer, by key. */
function exportNetwork(
  stack: Stack,
  values: {
    vpcId: string;
    vpcCidr: string;
    publicSubnetIds: readonly string[];
    appSubnetIds: readonly string[];
    appSubnetCidrs: readonly string[];
    cacheSubnetIds: readonly string[];
    instanceSubnetIds: readonly string[];
  },
): void {
  exportValue(stack, "VpcId", values.vpcId, "VPC of the stack");
  exportValue(stack, "VpcCidr", values.vpcCidr, "Address range of the VPC");
  const each = (key: string, list: readonly string[], what: string) =>
    [0, 1].forEach((i) => {
      exportValue(stack, `${key}${i + 1}`, list[i]!, `${what} in zone ${i + 1}`);
    });
  each("PublicSubnet", values.publicSubnetIds, "Public subnet");
  each("AppSubnet", values.appSubnetIds, "Private subnet of the load balancer");
  [0, 1].forEach((i) => {
    exportValue(
      stack,
      `AppSubnet${i + 1}Cidr`,
      values.appSubnetCidrs[i]!,
      `Address range of private subnet ${i + 1}`,
    );
  });
  each("CacheSubnet", values.cacheSubnetIds, "Cache subnet");
  each("InstanceSubnet", values.instanceSubnetIds, "Subnet of the instances (InstanceSubnets)");
}

function importNetwork(stack: Stack): NetworkRefs {
  const zone = (i: number) => Fn.select(i, Fn.getAzs());
  const vpc = ec2.Vpc.fromVpcAttributes(stack, "ImportedVpc", {
    vpcId: importValue("VpcId"),
    vpcCidrBlock: importValue("VpcCidr"),
    availabilityZones: [zone(0), zone(1)],
    publicSubnetIds: [importValue("PublicSubnet1"), importValue("PublicSubnet2")],
  });
  const subnets = (key: string, withCidr: boolean) =>
    [0, 1].map((i) =>
      ec2.Subnet.fromSubnetAttributes(stack, `Imported${key}${i + 1}`, {
        subnetId: importValue(`${key}${i + 1}`),
        ipv4CidrBlock: withCidr ? importValue(`${key}${i + 1}Cidr`) : undefined,
        availabilityZone: zone(i),
      }),
    );
  return {
    vpc,
    appSubnets: subnets("AppSubnet", true),
    cacheSubnets: subnets("CacheSubnet", false),
    instanceSubnetIds: [importValue("InstanceSubnet1"), importValue("InstanceSubnet2")],
  };
}

function exportTable(stack: Stack, table: TableRefs): void {
  exportValue(
    stack,
    "UsersTableName",
    table.tableName,
    "DynamoDB Users table (retained on delete)",
  );
  exportValue(stack, "UsersTableArn", table.tableArn, "ARN of the Users table");
}

function importTable(): TableRefs {
  return { tableName: importValue("UsersTableName"), tableArn: importValue("UsersTableArn") };
}

function importCache(stack: Stack): CacheRefs {
  return {
    securityGroup: ec2.SecurityGroup.fromSecurityGroupId(
      stack,
      "ImportedCacheSecurityGroup",
      importValue("CacheSecurityGroupId"),
      { allowAllOutbound: false },
    ),
    port: CACHE_PORT,
    authSecret: secretsmanager.Secret.fromSecretCompleteArn(
      stack,
      "ImportedCacheAuthToken",
      importValue("CacheAuthSecretArn"),
    ),
    addressParameterName: importValue("CacheAddressParameterName"),
  };
}

/**
 * The fleet's Auto Scaling group, seen from 05-delivery. The CDK's CodeDeploy action grants each
 * deployment group's instance role read access to the artifact bucket, and an imported group has
 * no role to grant to. The role lives in 04-fleet, where InstancePolicy already grants exactly
 * that read (the one-shot stack makes the same role immutable for the same reason): here it is
 * imported immutable too, so the action's grant changes nothing.
 */
function importGroup(stack: Stack): autoscaling.IAutoScalingGroup {
  const group = autoscaling.AutoScalingGroup.fromAutoScalingGroupName(
    stack,
    "ImportedFleetGroup",
    importValue("AutoScalingGroupName"),
  );
  const role = iam.Role.fromRoleArn(stack, "ImportedFleetRole", importValue("InstanceRoleArn"), {
    mutable: false,
  });
  Object.defineProperty(group, "grantPrincipal", { value: role });
  return group;
}

function importFleet(stack: Stack): FleetRefs {
  return {
    artifactBucket: s3.Bucket.fromBucketName(
      stack,
      "ImportedArtifacts",
      importValue("ArtifactBucketName"),
    ),
    autoScalingGroup: importGroup(stack),
    targetGroup: elbv2.ApplicationTargetGroup.fromTargetGroupAttributes(
      stack,
      "ImportedTargetGroup",
      { targetGroupArn: importValue("TargetGroupArn") },
    ),
    errorsAlarm: cloudwatch.Alarm.fromAlarmArn(
      stack,
      "ImportedErrorsAlarm",
      importValue("ErrorsAlarmArn"),
    ),
  };
}

/** A resource that does nothing: CloudFormation refuses a template without resources. */
function placeholder(stack: Stack): void {
  new CfnWaitConditionHandle(stack, "Placeholder");
}

const NAMING: readonly ParameterName[] = ["AppName", "EnvName"];

/** Every piece, in the catalog's order (deploy order, bring-your-own after its default). */
export const PIECES: readonly PieceDefinition[] = [
  {
    ...pieceEntry("network"),
    description:
      "fleetline piece 01-network (deploy first): VPC over 2 zones, public/app/cache subnets, S3 and DynamoDB endpoints, flow logs, optional NAT",
    parameters: [...NAMING, "InstanceSubnets", "LogRetentionDays"],
    build: (stack, p) => {
      const { network, refs } = networkLayer(stack, p);
      exportNetwork(stack, {
        vpcId: network.vpc.vpcId,
        vpcCidr: network.vpc.vpcCidrBlock,
        publicSubnetIds: network.vpc.publicSubnets.map((s) => s.subnetId),
        appSubnetIds: refs.appSubnets.map((s) => s.subnetId),
        appSubnetCidrs: refs.appSubnets.map((s) => s.ipv4CidrBlock),
        cacheSubnetIds: refs.cacheSubnets.map((s) => s.subnetId),
        instanceSubnetIds: refs.instanceSubnetIds,
      });
    },
  },
  {
    ...pieceEntry("network.existing"),
    description:
      "fleetline piece 01-network.existing (deploy first, instead of 01-network): creates nothing, exports your VPC and subnets under the names the later pieces import",
    parameters: [
      ...NAMING,
      "InstanceSubnets",
      "ExistingVpcId",
      "ExistingVpcCidr",
      "ExistingPublicSubnetIds",
      "ExistingAppSubnetIds",
      "ExistingAppSubnetCidrs",
      "ExistingCacheSubnetIds",
    ],
    build: (stack, p) => {
      placeholder(stack);
      const two = (list: string[]) => [Fn.select(0, list), Fn.select(1, list)];
      const publicIds = two(p.existingPublicSubnetIds.valueAsList);
      const appIds = two(p.existingAppSubnetIds.valueAsList);
      exportNetwork(stack, {
        vpcId: p.existingVpcId.valueAsString,
        vpcCidr: p.existingVpcCidr.valueAsString,
        publicSubnetIds: publicIds,
        appSubnetIds: appIds,
        appSubnetCidrs: two(p.existingAppSubnetCidrs.valueAsList),
        cacheSubnetIds: two(p.existingCacheSubnetIds.valueAsList),
        // As 01-network chooses: the private subnets with InstanceSubnets=private.
        instanceSubnetIds: [0, 1].map((i) =>
          Fn.conditionIf(p.privateInstances.logicalId, appIds[i], publicIds[i]).toString(),
        ),
      });
    },
  },
  {
    ...pieceEntry("data"),
    description:
      "fleetline piece 02-data (after 01-network): the DynamoDB Users table (PITR, retained on delete)",
    parameters: [
      ...NAMING,
      "TableBillingMode",
      "TableReadCapacity",
      "TableWriteCapacity",
      "TableDeletionProtection",
    ],
    build: (stack, p) => {
      exportTable(stack, dataLayer(stack, p).refs);
    },
  },
  {
    ...pieceEntry("data.existing"),
    description:
      "fleetline piece 02-data.existing (instead of 02-data): creates nothing, exports your Users table under the names the later pieces import",
    parameters: [...NAMING, "ExistingTableName"],
    build: (stack, p) => {
      placeholder(stack);
      const name = p.existingTableName.valueAsString;
      exportTable(stack, {
        tableName: name,
        tableArn: stack.formatArn({ service: "dynamodb", resource: "table", resourceName: name }),
      });
    },
  },
  {
    ...pieceEntry("cache"),
    description:
      "fleetline piece 03-cache (after 02-data): Valkey/Redis key-ring cache (TLS, AUTH in Secrets Manager), its security group, its address in Parameter Store",
    parameters: [...NAMING, "CacheEngine", "CacheNodeType", "CacheNodeCount"],
    build: (stack, p) => {
      const { cache, refs, outputs } = cacheLayer(stack, p, importNetwork(stack));
      for (const o of outputs) output(stack, o, true);
      exportValue(
        stack,
        "CacheSecurityGroupId",
        refs.securityGroup.securityGroupId,
        "Security group of the cache (the fleet piece admits its instances)",
      );
      exportValue(
        stack,
        "CacheAuthSecretArn",
        cache.authSecret.secretArn,
        "Secrets Manager secret holding the cache's AUTH token",
      );
    },
  },
  {
    ...pieceEntry("fleet"),
    description:
      "fleetline piece 04-fleet (after 03-cache): CloudFront, internal ALB, Auto Scaling group, Cognito operators, buckets, logs, alarms, dashboard",
    parameters: [
      ...NAMING,
      "OperatorEmail",
      "InstanceType",
      "LatestAmiId",
      "MinSize",
      "DesiredCapacity",
      "MaxSize",
      "DomainNames",
      "CertificateArn",
      "WebAclArn",
      "LogRetentionDays",
    ],
    build: (stack, p) => {
      const fleet = fleetLayer(stack, p, {
        network: importNetwork(stack),
        table: importTable(),
        cache: importCache(stack),
      });
      Validations.of(fleet.loadBalancer.securityGroup).acknowledge({
        id: "AwsSolutions-EC23",
        reason:
          "The rule throws because the admitted ranges are imports (the load balancer's two private subnets, exported by 01-network); they are those subnets' /24s, never 0.0.0.0/0, as the one-shot template shows with the same construct.",
      });
      for (const o of fleet.outputs) output(stack, o, o.id === "ArtifactBucketName");
      exportValue(
        stack,
        "AutoScalingGroupName",
        fleet.refs.autoScalingGroup.autoScalingGroupName,
        "Auto Scaling group of the web fleet (CodeDeploy deploys to it)",
      );
      exportValue(
        stack,
        "InstanceRoleArn",
        fleet.fleet.role.roleArn,
        "Role of the web instances (InstancePolicy holds its permissions)",
      );
      exportValue(
        stack,
        "TargetGroupArn",
        fleet.refs.targetGroup.targetGroupArn,
        "Target group CodeDeploy drains and refills",
      );
      exportValue(
        stack,
        "ErrorsAlarmArn",
        fleet.refs.errorsAlarm.alarmArn,
        "The 5xx alarm that rolls a deployment back",
      );
    },
  },
  {
    ...pieceEntry("delivery"),
    description:
      "fleetline piece 05-delivery (last): CodeDeploy application and group, CodeBuild project, CodePipeline from GitHub",
    parameters: [
      ...NAMING,
      "ConnectionArn",
      "RepositoryOwner",
      "RepositoryName",
      "BranchName",
      "DeploymentStrategy",
      "LogRetentionDays",
    ],
    build: (stack, p) => {
      const { outputs } = deliveryLayer(stack, p, importFleet(stack));
      for (const o of outputs) output(stack, o);
    },
  },
];

/** One piece's stack. */
export class PieceStack extends Stack {
  public readonly piece: PieceDefinition;
  public readonly parameters: StackParameters;

  constructor(scope: Construct, piece: PieceDefinition, props: StackProps = {}) {
    super(scope, piece.stackId, { description: piece.description, ...props });
    this.piece = piece;
    this.parameters = new StackParameters(this, piece.parameters);
    piece.build(this, this.parameters);
  }
}
