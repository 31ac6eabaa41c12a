import { type CfnCondition, Fn, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elasticache from "aws-cdk-lib/aws-elasticache";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as ssm from "aws-cdk-lib/aws-ssm";
import { Construct } from "constructs";

export interface CacheProps {
  readonly vpc: ec2.IVpc;
  /** Isolated subnets of the cache (no route out). */
  readonly subnets: ec2.ISubnet[];
  /** Replication group id, lower case, e.g. `fleetline-prod`. */
  readonly replicationGroupId: string;
  /** SSM parameter that receives `host:port`, e.g. `/fleetline/prod/CacheAddress`. */
  readonly addressParameterName: string;
  /** `valkey` or `redis` (token from a parameter). */
  readonly engine: string;
  /** Node type, e.g. `cache.t4g.micro` (token from a parameter). */
  readonly nodeType: string;
  /** Number of nodes, 1 to 3 (token from a parameter). */
  readonly nodeCount: number;
  /** True when `nodeCount` > 1: automatic failover and Multi-AZ need a replica. */
  readonly replicated: CfnCondition;
  /** TCP port. @default 6380 (not the well-known 6379, which scanners try first) */
  readonly port?: number;
}

/**
 * The shared anti-forgery key ring's store: an ElastiCache replication group (Valkey by default)
 * in isolated subnets, TLS in transit, an AUTH token generated into Secrets Manager, encryption
 * at rest, and its address published to Parameter Store as the original did. Nothing can reach
 * it until a peer is allowed with `allowFrom`.
 */
export class Cache extends Construct {
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly authSecret: secretsmanager.Secret;
  public readonly replicationGroup: elasticache.CfnReplicationGroup;
  public readonly addressParameter: ssm.StringParameter;
  public readonly port: number;

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    this.port = props.port ?? 6380;

    this.securityGroup = new ec2.SecurityGroup(this, "SecurityGroup", {
      vpc: props.vpc,
      description: "Cache: reachable only from the web fleet",
      // The cache never opens connections; no egress rule at all.
      allowAllOutbound: false,
    });

    this.authSecret = new secretsmanager.Secret(this, "AuthToken", {
      description: "AUTH token of the key-ring cache (read by the web at start)",
      // AUTH tokens allow 16-128 printable characters except @, " and /: alphanumerics only
      // keeps the token safe in a redis:// URL and in shell-quoted contexts.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.authSecret).acknowledge({
      id: "AwsSolutions-SMG4",
      reason:
        "Rotating an ElastiCache AUTH token needs a rotation Lambda (an asset this template cannot carry) and a ROTATE-then-SET sequence on the replication group; the web reads the token at start, so rotation is an operator runbook (update the secret, modify-replication-group --auth-token-update-strategy ROTATE, roll the fleet).",
    });

    const subnetGroup = new elasticache.CfnSubnetGroup(this, "SubnetGroup", {
      description: "Isolated cache subnets",
      subnetIds: props.subnets.map((s) => s.subnetId),
    });

    const replicated = props.replicated.logicalId;
    this.replicationGroup = new elasticache.CfnReplicationGroup(this, "ReplicationGroup", {
      replicationGroupId: props.replicationGroupId,
      replicationGroupDescription: "fleetline anti-forgery key ring",
      engine: props.engine,
      cacheNodeType: props.nodeType,
      numCacheClusters: props.nodeCount,
      automaticFailoverEnabled: Fn.conditionIf(replicated, true, false),
      multiAzEnabled: Fn.conditionIf(replicated, true, false),
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      port: this.port,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      authToken: this.authSecret.secretValue.unsafeUnwrap(),
      snapshotRetentionLimit: 0,
    });
    Validations.of(this.replicationGroup).acknowledge({
      id: "AwsSolutions-AEC5",
      reason:
        "The port is 6380, not the default 6379; the rule throws only because the engine (valkey or redis) is a CloudFormation parameter it cannot read at synth time.",
    });
    Validations.of(this.replicationGroup).acknowledge({
      id: "AwsSolutions-AEC4",
      reason:
        "Multi-AZ with automatic failover is a parameter (CacheNodeCount 2 or 3); the default single node matches the original and holds only signing keys that the web re-creates if the cache is lost, at the cost of re-issuing forms in flight.",
    });

    this.addressParameter = new ssm.StringParameter(this, "Address", {
      parameterName: props.addressParameterName,
      // The name is a token (from parameters) that starts with "/".
      simpleName: false,
      description: "host:port of the key-ring cache (TLS, AUTH from Secrets Manager)",
      stringValue: Fn.join(":", [
        this.replicationGroup.attrPrimaryEndPointAddress,
        this.replicationGroup.attrPrimaryEndPointPort,
      ]),
    });
  }

  /** Lets `peer` connect to the cache port, and nothing else. */
  public allowFrom(peer: ec2.ISecurityGroup): void {
    Cache.allow(this.securityGroup, this.port, peer);
  }

  /**
   * Lets `peer` connect to `port` of a cache's security group: inline in the group when both are
   * in one stack, a separate ingress rule when the group is imported (a layered piece).
   */
  public static allow(cacheGroup: ec2.ISecurityGroup, port: number, peer: ec2.ISecurityGroup) {
    cacheGroup.addIngressRule(
      ec2.Peer.securityGroupId(peer.securityGroupId),
      ec2.Port.tcp(port),
      "Web fleet to key-ring cache",
    );
  }
}
