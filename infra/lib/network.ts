import { type CfnCondition, Fn, RemovalPolicy, Tags } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { acknowledgeControl } from "./guard.js";

export interface NetworkProps {
  /**
   * `Name` tag of the VPC and prefix of its subnets' (`<name>-public-1`…), usually `<app>-<env>`.
   * A deploy-time value: the CDK's default is the construct path, the same in every stack.
   */
  readonly name: string;
  /** VPC address range. @default "10.50.0.0/16" (the original's plan) */
  readonly cidr?: string;
  /** Log group name of the VPC flow logs, e.g. `/fleetline/prod/vpc-flow`. */
  readonly flowLogGroupName: string;
  /** Retention of the flow log group in days (token from a parameter). */
  readonly logRetentionDays: number;
  /**
   * When true (a condition), one NAT gateway is created and the app subnets route to it, so
   * instances can run without public addresses. @default - no NAT gateway
   */
  readonly natCondition?: CfnCondition;
}

/**
 * VPC over two Availability Zones: public subnets for the ALB (and, by default, the instances),
 * "App" subnets for instances when they run privately, and isolated "Cache" subnets that have no
 * route out at all. S3 and DynamoDB gateway endpoints keep the table, the artifacts and the
 * Amazon Linux repositories (hosted on S3) off the NAT gateway.
 */
export class Network extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly flowLogGroup: logs.LogGroup;
  /** Subnets the fleet uses: public or App, chosen by the condition at deploy time. */
  public readonly instanceSubnetIds: string[];
  /** The NAT gateway (only created under `natCondition`). */
  public readonly natGateway?: ec2.CfnNatGateway;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);

    this.vpc = new ec2.Vpc(this, "Vpc", {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr ?? "10.50.0.0/16"),
      maxAzs: 2,
      // NAT is optional and decided by a parameter, which the L2 VPC cannot express: it is
      // added below as conditional L1 resources instead.
      natGateways: 0,
      // The L2 default would install a custom resource (a Lambda asset) to empty the default
      // security group; the template must stay asset-free. Nothing uses the default group.
      restrictDefaultSecurityGroup: false,
      subnetConfiguration: [
        { name: "Public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: "App", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
        { name: "Cache", subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: {
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
        DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
      },
    });

    // Higher priority than the CDK's own path-based Name tags (100), the subnets' above the VPC's
    // (which every child inherits).
    Tags.of(this.vpc).add("Name", props.name, { priority: 150 });
    for (const group of ["Public", "App", "Cache"]) {
      this.vpc.selectSubnets({ subnetGroupName: group }).subnets.forEach((subnet, i) => {
        Tags.of(subnet).add("Name", Fn.join("-", [props.name, group.toLowerCase(), `${i + 1}`]), {
          priority: 200,
        });
      });
    }

    this.flowLogGroup = new logs.LogGroup(this, "FlowLogs", {
      logGroupName: props.flowLogGroupName,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    (this.flowLogGroup.node.defaultChild as logs.CfnLogGroup).retentionInDays =
      props.logRetentionDays;
    acknowledgeControl(
      this.flowLogGroup,
      "CT.CLOUDWATCH.PR.2",
      "Rejected-traffic flow logs serve to spot scans and misrouted cache traffic within days; they keep the LogRetentionDays parameter (default 30, up to 3653), which the rule cannot read through the Ref. CloudTrail, not this group, is the account's audit record.",
    );
    acknowledgeControl(
      this.flowLogGroup,
      "CT.CLOUDWATCH.PR.3",
      "Flow records (addresses, ports, REJECT) are encrypted at rest by CloudWatch Logs with its own keys; a customer-managed key would add a key and a logs-service key policy to every stack for metadata that holds no payload.",
    );
    this.vpc.addFlowLog("FlowLog", {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      // Rejected flows are the security signal (scans, misrouted cache traffic); logging every
      // accepted flow of a web fleet would cost more in ingestion than the instances do.
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    const appSubnets = this.vpc.selectSubnets({ subnetGroupName: "App" }).subnets;
    const publicSubnets = this.vpc.publicSubnets;
    for (const subnet of publicSubnets) {
      acknowledgeControl(
        subnet,
        "CT.EC2.PR.11",
        "With InstanceSubnets=public (the default, no NAT gateway at about 37 USD/month) the instances live here and need a public address to reach AWS APIs and the package mirrors; their security group admits only the load balancer. InstanceSubnets=private moves them to the App subnets, behind a NAT gateway, without public addresses.",
      );
    }

    if (props.natCondition) {
      const eip = new ec2.CfnEIP(this, "NatAddress", { domain: "vpc" });
      eip.cfnOptions.condition = props.natCondition;
      const nat = new ec2.CfnNatGateway(this, "NatGateway", {
        subnetId: publicSubnets[0]!.subnetId,
        allocationId: eip.attrAllocationId,
      });
      nat.cfnOptions.condition = props.natCondition;
      this.natGateway = nat;
      appSubnets.forEach((subnet, i) => {
        const route = new ec2.CfnRoute(this, `AppDefaultRoute${i + 1}`, {
          routeTableId: subnet.routeTable.routeTableId,
          destinationCidrBlock: "0.0.0.0/0",
          natGatewayId: nat.ref,
        });
        route.cfnOptions.condition = props.natCondition;
      });
      this.instanceSubnetIds = appSubnets.map((subnet, i) =>
        Fn.conditionIf(
          props.natCondition!.logicalId,
          subnet.subnetId,
          publicSubnets[i]!.subnetId,
        ).toString(),
      );
    } else {
      this.instanceSubnetIds = publicSubnets.map((s) => s.subnetId);
    }
  }
}
