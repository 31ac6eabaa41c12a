import { CfnGuardValidator } from "@cdklabs/cdk-validator-cfnguard";
import {
  type IPolicyValidationContextBeta1,
  type IPolicyValidationPluginBeta1,
  type PolicyValidationPluginReportBeta1,
  Validations,
} from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/** Prefix of the validation ids of the plugin's findings (its name, as the CDK namespaces it). */
export const GUARD_NAMESPACE = "cdk-validator-cfnguard";

/**
 * Control Tower proactive controls that cannot run through the plugin, each with why. The plugin
 * passes everything else it bundles (237 rules) to the cfn-guard binary it bundles, offline.
 *
 * ct-elasticloadbalancing-pr-2 (CT.ELASTICLOADBALANCING.PR.2, HTTPS listeners use an ACM
 * certificate) fails on the HTTPS listener because its certificate is `{"Ref": "CertificateArn"}`,
 * which the rule compares to a regular expression; the plugin then cannot parse cfn-guard's
 * result for that comparison and aborts the whole validation ("Cannot read properties of
 * undefined (reading 'to')", cdklabs/cdk-validator-cfnguard#178). What the rule checks is
 * enforced by the parameter instead: CertificateArn's AllowedPattern admits only ACM certificate
 * ARNs, and infra/test/cfn-guard.test.ts checks that pattern against the rule's own.
 */
export const DISABLED_CONTROLS: readonly string[] = ["ct-elasticloadbalancing-pr-2"];

/**
 * The cfnguard plugin, with every finding marked as an error. The plugin leaves `severity` unset,
 * and once any acknowledgement applies, aws-cdk-lib (2.276) recomputes a report's success as "no
 * violation of severity error or fatal": unacknowledged Control Tower findings would then pass
 * synthesis silently. The controls are preventive in Control Tower (they block the deployment),
 * so error is their true level.
 */
class ControlTowerChecks implements IPolicyValidationPluginBeta1 {
  readonly name: string;
  readonly version?: string;
  readonly ruleIds?: string[];

  constructor(private readonly guard: CfnGuardValidator) {
    this.name = guard.name;
    this.version = guard.version;
    this.ruleIds = guard.ruleIds;
  }

  validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    const report = this.guard.validate(context);
    return {
      ...report,
      violations: report.violations.map((v) => ({ ...v, severity: v.severity ?? "error" })),
    };
  }
}

/** The policy-validation plugin: AWS Control Tower's proactive controls through cfn-guard. */
export function controlTowerChecks(): IPolicyValidationPluginBeta1 {
  return new ControlTowerChecks(
    new CfnGuardValidator({
      disabledRules: [...DISABLED_CONTROLS],
      // cfn-guard reports every non-compliant resource before acknowledgements apply; the 1 MiB
      // default would abort validation (ENOBUFS) as the template grows.
      maxBuffer: 16 * 1024 * 1024,
    }),
  );
}

/**
 * The controls this app acknowledges somewhere, by Control Tower id, with the cfn-guard rule name
 * that findings carry (checked against the bundled rule files by the tests).
 */
export const CONTROL_RULES = {
  "CT.AUTOSCALING.PR.1": "autoscaling_multiple_az_check",
  "CT.AUTOSCALING.PR.6": "autoscaling_mixed_instances_policy_multiple_instance_types_check",
  "CT.CLOUDWATCH.PR.2": "cloudwatch_log_group_retention_period_check",
  "CT.CLOUDWATCH.PR.3": "cloudwatch_log_group_encrypted_check",
  "CT.DYNAMODB.PR.2": "dynamodb_table_encrypted_kms_check",
  "CT.EC2.PR.11": "subnet_auto_assign_public_ip_disabled_check",
  "CT.EC2.PR.15": "ec2_launch_template_nitro_instance_type_check",
  "CT.ELASTICLOADBALANCING.PR.1": "alb_http_to_https_redirection_check",
  "CT.S3.PR.2": "s3_bucket_logging_enabled_check",
  "CT.S3.PR.4": "s3_event_notifications_enabled_check",
  "CT.S3.PR.9": "s3_bucket_object_lock_enabled_check",
  "CT.S3.PR.10": "s3_bucket_default_encryption_kms_check",
  "CT.S3.PR.11": "s3_bucket_versioning_enabled_check",
} as const;

export type ControlId = keyof typeof CONTROL_RULES;

/**
 * Acknowledges a Control Tower control on `scope` (and the resources below it), as
 * `Validations.of(scope).acknowledge` does for cdk-nag: the reason says why this resource does not
 * comply, and shows in the synth report beside the finding.
 */
export function acknowledgeControl(scope: IConstruct, control: ControlId, reason: string): void {
  Validations.of(scope).acknowledge({
    id: `${GUARD_NAMESPACE}::${CONTROL_RULES[control]}`,
    reason: `${control}: ${reason}`,
  });
}
