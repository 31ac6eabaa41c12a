import { RemovalPolicy } from "aws-cdk-lib";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { acknowledgeControl } from "./guard.js";

export interface InstanceLogGroupsProps {
  /** `/<app>/<env>` (token); the groups are `<prefix>/web`, `/codedeploy`, `/system`. */
  readonly prefix: string;
  /** Retention in days (token from a parameter). */
  readonly retentionDays: number;
}

/**
 * The log groups the instances' CloudWatch agent ships to (names fixed by deploy/CONTRACT.md).
 * Created by the stack rather than by the agent so they have a retention and are deleted with
 * the stack; the instance role can then write to exactly these groups.
 */
export class InstanceLogGroups extends Construct {
  public readonly web: logs.LogGroup;
  public readonly codedeploy: logs.LogGroup;
  public readonly system: logs.LogGroup;

  constructor(scope: Construct, id: string, props: InstanceLogGroupsProps) {
    super(scope, id);
    const make = (name: string): logs.LogGroup => {
      const group = new logs.LogGroup(this, name, {
        logGroupName: `${props.prefix}/${name.toLowerCase()}`,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      // The L2 takes an enum; the retention is a parameter, so it is set on the L1.
      (group.node.defaultChild as logs.CfnLogGroup).retentionInDays = props.retentionDays;
      return group;
    };
    this.web = make("Web");
    this.codedeploy = make("CodeDeploy");
    this.system = make("System");
    acknowledgeControl(
      this,
      "CT.CLOUDWATCH.PR.2",
      "The instances' web, deployment and system logs are for troubleshooting, not an audit trail: their retention is the LogRetentionDays parameter (default 30 days, up to 3653), an operator's cost choice that the rule cannot read through the Ref.",
    );
    acknowledgeControl(
      this,
      "CT.CLOUDWATCH.PR.3",
      "CloudWatch Logs encrypts these groups at rest with its own keys; a customer-managed KMS key would cost a key per stack plus its requests and need a key policy for the regional logs principal, and the web logs carry no secrets (the AUTH token and cookies are never logged).",
    );
  }

  public get all(): logs.LogGroup[] {
    return [this.web, this.codedeploy, this.system];
  }
}
