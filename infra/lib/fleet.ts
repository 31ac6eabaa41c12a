import { Aws, Duration, Lazy, Stack, Tags } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import { acknowledgeControl } from "./guard.js";
import { type InstanceBootstrapProps, renderUserData } from "./instance-bootstrap.js";

export interface FleetProps {
  /** `Name` tag of the instances and their volumes, usually `<app>-<env>` (deploy-time). */
  readonly name: string;
  readonly vpc: ec2.IVpc;
  /** Subnet ids of the instances (may be Fn::If tokens choosing public or private). */
  readonly subnetIds: string[];
  /** Instance type name (token from a parameter), Graviton by default. */
  readonly instanceType: string;
  /** AMI id (token from an SSM-typed parameter) of Amazon Linux 2023 for that architecture. */
  readonly imageId: string;
  readonly minCapacity: number;
  readonly desiredCapacity: number;
  readonly maxCapacity: number;
  /** Receives launch and termination notices (and their errors). */
  readonly notificationTopic: sns.ITopic;
  /** Everything the bootstrap writes, except the signal target which the fleet knows. */
  readonly bootstrap: Omit<InstanceBootstrapProps, "stackName" | "signalResource" | "region">;
  /** Average CPU the scaling policy aims for. @default 50 */
  readonly targetCpuPercent?: number;
  /** Root volume size in GiB. @default 8 (AL2023 is about 2 GiB; releases are kept two deep) */
  readonly rootVolumeGiB?: number;
  /**
   * How long CloudFormation waits for each instance's cfn-signal, at creation and in rolling
   * updates. Covers package installation plus, in updates, CodeDeploy installing the current
   * revision on the new instance. @default 20 minutes
   */
  readonly signalTimeout?: Duration;
}

/**
 * The web fleet: a launch template (AL2023, IMDSv2 only, encrypted gp3, no SSH key) and an Auto
 * Scaling group over the two zones, with ELB health checks, CPU target tracking, SNS notices and
 * rolling updates that wait for each new instance's signal.
 */
export class Fleet extends Construct {
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly role: iam.Role;
  public readonly launchTemplate: ec2.LaunchTemplate;
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;

  constructor(scope: Construct, id: string, props: FleetProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.securityGroup = new ec2.SecurityGroup(this, "SecurityGroup", {
      vpc: props.vpc,
      description: "Web instances: HTTP from the load balancer only, no SSH (Session Manager)",
      // Instances reach AWS APIs (SSM, CodeDeploy, CloudWatch, Secrets Manager, CloudFormation),
      // the package repositories and the cache; the endpoints change by region, so egress is open.
      allowAllOutbound: true,
    });

    // No AWS managed policy: AmazonSSMManagedInstanceCore would also grant ssm:GetParameter(s)
    // on every parameter of the account. InstancePolicy grants the SSM agent what it calls.
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
      description: "fleetline web instances",
    });

    // The AMI comes from an SSM-typed parameter (resolved at each stack update); its user data is
    // unused because the launch template gets the bootstrap below.
    const machineImage: ec2.IMachineImage = {
      getImage: () => ({
        imageId: props.imageId,
        osType: ec2.OperatingSystemType.LINUX,
        userData: ec2.UserData.forLinux(),
      }),
    };
    // cfn-signal names the group, which is created after the template: resolved lazily.
    let groupLogicalId: string | undefined;
    const userData = ec2.UserData.custom(
      renderUserData({
        ...props.bootstrap,
        // Deploy-time values: `stack.stackName` is the synth-time construct id, which is not
        // the name `npm run deploy` or a console user gives the stack.
        stackName: Aws.STACK_NAME,
        signalResource: Lazy.string({ produce: () => groupLogicalId }),
        region: Aws.REGION,
      }),
    );

    this.launchTemplate = new ec2.LaunchTemplate(this, "LaunchTemplate", {
      machineImage,
      instanceType: new ec2.InstanceType(props.instanceType),
      // Immutable here: the CDK's CodeDeploy action would otherwise add its own broad S3 grant
      // (GetBucket*, List*) to this role; InstancePolicy grants exactly what the agent needs.
      role: this.role.withoutPolicyUpdates(),
      securityGroup: this.securityGroup,
      userData,
      requireImdsv2: true,
      // One-minute CPU metrics: target tracking reacts in minutes instead of quarter hours.
      detailedMonitoring: true,
      // 1: nothing on the instance runs in a container, so no extra network hop needs the
      // metadata service; a stolen token cannot be relayed through a forwarded request.
      httpPutResponseHopLimit: 1,
      blockDevices: [
        {
          deviceName: "/dev/xvda",
          volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB ?? 8, {
            volumeType: ec2.EbsDeviceVolumeType.GP3,
            encrypted: true,
            deleteOnTermination: true,
          }),
        },
      ],
    });

    // Above the CDK's construct-path Name tag, which would name every stack's instances alike.
    Tags.of(this.launchTemplate).add("Name", props.name, { priority: 200 });

    acknowledgeControl(
      this.launchTemplate,
      "CT.EC2.PR.15",
      "The instance type is the InstanceType parameter, which the rule cannot read through the Ref; its AllowedValues are Graviton t4g, m7g and c7g types only, all on the Nitro system (infra/test/cfn-guard.test.ts checks them against the rule's list).",
    );

    const signalTimeout = props.signalTimeout ?? Duration.minutes(20);
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, "Group", {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate: this.launchTemplate,
      minCapacity: props.minCapacity,
      desiredCapacity: props.desiredCapacity,
      maxCapacity: props.maxCapacity,
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        // Bootstrap (dnf, agents) takes 2-4 minutes before nginx answers.
        gracePeriod: Duration.minutes(10),
      }),
      notifications: [
        { topic: props.notificationTopic, scalingEvents: autoscaling.ScalingEvents.ALL },
      ],
      signals: autoscaling.Signals.waitForMinCapacity({ timeout: signalTimeout }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: props.minCapacity,
        pauseTime: signalTimeout,
        waitOnResourceSignals: true,
      }),
    });
    const cfnGroup = this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup;
    // The L2 only knows static subnet selections; the fleet's subnets depend on a parameter.
    cfnGroup.vpcZoneIdentifier = props.subnetIds;
    groupLogicalId = stack.getLogicalId(cfnGroup);
    acknowledgeControl(
      this.autoScalingGroup,
      "CT.AUTOSCALING.PR.1",
      "The group spans two Availability Zones through VPCZoneIdentifier (one subnet in each of the VPC's two zones); the rule only looks for the AvailabilityZones property, which would repeat that choice.",
    );
    acknowledgeControl(
      this.autoScalingGroup,
      "CT.AUTOSCALING.PR.6",
      "One On-Demand instance type, the InstanceType parameter: several types matter for Spot capacity pools, which the fleet does not use, and mixed sizes would make the CPU target track unequal instances.",
    );

    this.autoScalingGroup.scaleOnCpuUtilization("CpuTarget", {
      targetUtilizationPercent: props.targetCpuPercent ?? 50,
    });
  }
}
