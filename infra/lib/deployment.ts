import { Validations } from "aws-cdk-lib";
import type * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as codedeploy from "aws-cdk-lib/aws-codedeploy";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { Construct } from "constructs";

export interface DeploymentProps {
  /** CodeDeploy application and deployment group name, e.g. `fleetline-prod`. */
  readonly name: string;
  readonly autoScalingGroup: autoscaling.IAutoScalingGroup;
  /** Traffic control: instances are deregistered (drained) before, re-registered after. */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  /** `CodeDeployDefault.OneAtATime` etc. (token from a parameter). */
  readonly deploymentConfigName: string;
  /** Alarms that stop and roll back a deployment in progress (the 5xx alarm). */
  readonly rollbackAlarms: cloudwatch.IAlarm[];
}

/**
 * CodeDeploy in-place deployments to the Auto Scaling group WITH load-balancer traffic control
 * (the original had none: every deploy dropped requests), automatic rollback on failure, on
 * stop and on alarm. New instances launched by scaling get the current revision through the
 * launch lifecycle hook CodeDeploy installs on the group.
 */
export class Deployment extends Construct {
  public readonly application: codedeploy.ServerApplication;
  public readonly deploymentGroup: codedeploy.ServerDeploymentGroup;

  constructor(scope: Construct, id: string, props: DeploymentProps) {
    super(scope, id);
    this.application = new codedeploy.ServerApplication(this, "Application", {
      applicationName: props.name,
    });
    this.deploymentGroup = new codedeploy.ServerDeploymentGroup(this, "Group", {
      application: this.application,
      deploymentGroupName: props.name,
      autoScalingGroups: [props.autoScalingGroup],
      // The instance bootstrap installs the agent (from the regional bucket, after ruby); the
      // L2's own user-data snippet would install it a second time.
      installAgent: false,
      loadBalancers: [codedeploy.LoadBalancer.application(props.targetGroup)],
      deploymentConfig: codedeploy.ServerDeploymentConfig.fromServerDeploymentConfigName(
        this,
        "Config",
        props.deploymentConfigName,
      ),
      alarms: props.rollbackAlarms,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
      // Scale-in then runs the revision's stop hooks (deregister, drain) before termination.
      terminationHook: true,
    });
    // IN_PLACE is CodeDeploy's default; stated so the template says what the group does.
    (this.deploymentGroup.node.defaultChild as codedeploy.CfnDeploymentGroup).addPropertyOverride(
      "DeploymentStyle.DeploymentType",
      "IN_PLACE",
    );
    Validations.of(this.deploymentGroup).acknowledge({
      id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRole]",
      reason:
        "CodeDeploy's service role for EC2/Auto Scaling deployments with ELB traffic control: the AWS-maintained policy follows the calls CodeDeploy adds (lifecycle hooks, target registration, alarms); a hand-copied subset cannot be exercised here and would fail deployments silently when it drifts.",
    });
  }
}
