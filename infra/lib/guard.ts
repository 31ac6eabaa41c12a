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
 * Control Tower proactive controls that cannot run through the plugin, each with why: none today.
 * (ct-elasticloadbalancing-pr-2 aborted the plugin while the ALB had an HTTPS listener whose
 * certificate was a Ref, cdklabs/cdk-validator-cfnguard#178; TLS now ends at CloudFront.)
 */
export const DISABLED_CONTROLS: readonly string[] = [];

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
  "CT.CLOUDFRONT.PR.1": "cloudfront_default_root_object_configured_check",
  "CT.CLOUDFRONT.PR.4": "cloudfront_origin_failover_enabled_check",
  "CT.CLOUDFRONT.PR.5": "cloudfront_access_logs_enabled_check",
  "CT.CLOUDFRONT.PR.6": "cloudfront_custom_ssl_certificate_check",
  "CT.CLOUDFRONT.PR.7": "cloudfront_sni_enabled_check",
  "CT.CLOUDFRONT.PR.9": "cloudfront_security_policy_check",
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
