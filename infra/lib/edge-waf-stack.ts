import { Aws, CfnOutput, CfnParameter, CfnRule, Fn, Stack, type StackProps } from "aws-cdk-lib";
import * as wafv2 from "aws-cdk-lib/aws-wafv2";
import type { Construct } from "constructs";

/**
 * The optional web ACL of the CloudFront distribution, as its own small template
 * (cloudformation/edge-waf.template.json): CLOUDFRONT-scope web ACLs can only be created in
 * us-east-1, while the main stack lives in the operator's region. Deploy it there once, then pass
 * its `WebAclArn` output to the main stack's parameter of the same name.
 *
 * Rules: AWS's Core rule set and Known bad inputs (managed groups), and a rate-based rule per
 * client address counted at the edge, where the address is the viewer's own.
 */
export class EdgeWafStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, {
      description:
        "fleetline (optional): AWS WAF web ACL for the CloudFront distribution; deploy in us-east-1",
      ...props,
    });

    const requestsPerFiveMinutes = new CfnParameter(this, "RequestsPerFiveMinutes", {
      type: "Number",
      default: 1000,
      minValue: 100,
      maxValue: 2_000_000_000,
      description:
        "Requests one client address may send in any 5 minutes before the edge blocks it (the web's own per-client limits on sign-in and writes apply beneath this).",
    });
    new CfnRule(this, "InUsEast1", {
      assertions: [
        {
          assert: Fn.conditionEquals(Aws.REGION, "us-east-1"),
          assertDescription:
            "CloudFront web ACLs exist only in us-east-1: deploy this template there (the main stack may be in any region)",
        },
      ],
    });

    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      sampledRequestsEnabled: true,
    });
    const managed = (name: string, priority: number): wafv2.CfnWebACL.RuleProperty => ({
      name,
      priority,
      overrideAction: { none: {} },
      statement: { managedRuleGroupStatement: { vendorName: "AWS", name } },
      visibilityConfig: visibility(name),
    });

    const acl = new wafv2.CfnWebACL(this, "WebAcl", {
      name: Fn.join("-", [Aws.STACK_NAME, "edge"]),
      scope: "CLOUDFRONT",
      defaultAction: { allow: {} },
      visibilityConfig: visibility("fleetline-edge"),
      rules: [
        managed("AWSManagedRulesCommonRuleSet", 0),
        managed("AWSManagedRulesKnownBadInputsRuleSet", 1),
        {
          name: "RequestsPerClient",
          priority: 2,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              limit: requestsPerFiveMinutes.valueAsNumber,
              aggregateKeyType: "IP",
              evaluationWindowSec: 300,
            },
          },
          visibilityConfig: visibility("RequestsPerClient"),
        },
      ],
    });
    new CfnOutput(this, "WebAclArn", {
      value: acl.attrArn,
      description: "Pass as WebAclArn to the main fleetline stack",
    });
  }
}
