import { Aws, CfnCondition, CfnMapping, Duration, Fn, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import { RegionInfo } from "aws-cdk-lib/region-info";
import { Construct } from "constructs";
import { acknowledgeControl } from "./guard.js";

export interface LogBucketProps {
  /** Days before access logs are deleted. @default 90 */
  readonly expirationDays?: number;
}

/**
 * Receives the ALB access logs and the artifact bucket's server access logs. SSE-S3 because ELB
 * log delivery cannot write to KMS-encrypted buckets. Retained on stack deletion: CloudFormation
 * cannot delete a bucket that still holds objects without a custom resource (an asset).
 */
export class LogBucket extends Construct {
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: LogBucketProps = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, "Bucket", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(props.expirationDays ?? 90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const ack = (control: Parameters<typeof acknowledgeControl>[1], reason: string) =>
      acknowledgeControl(this.bucket, control, reason);
    ack(
      "CT.S3.PR.2",
      "This is the access-log bucket itself: it receives the ALB's and the artifact bucket's logs, and logging it into itself would log every delivery of a log, without end.",
    );
    ack(
      "CT.S3.PR.4",
      "Nothing consumes events from the access logs: they are read by hand (or Athena) when troubleshooting, and expire after 90 days.",
    );
    ack(
      "CT.S3.PR.9",
      "Object Lock would forbid the 90-day expiration from deleting logs inside the lock period and keep the bucket from ever being emptied and removed after a teardown; log integrity is covered by the bucket policy (only ELB and S3 log delivery may write).",
    );
    ack(
      "CT.S3.PR.10",
      "Elastic Load Balancing delivers access logs only to buckets encrypted with SSE-S3 (SSE-KMS is not supported for ALB access logs), so this bucket cannot use a KMS key.",
    );
    ack(
      "CT.S3.PR.11",
      "Log objects are written once under unique keys and never overwritten; versioning would only keep expired logs as noncurrent versions, billed until a second lifecycle rule removed them.",
    );
  }

  /**
   * Lets Elastic Load Balancing write access logs under `<prefix>/`. The writer depends on the
   * region, which this environment-agnostic template only learns at deploy time: regions opened
   * before August 2022 deliver from a regional ELB account, newer ones from the
   * `logdelivery.elasticloadbalancing.amazonaws.com` service principal. Both statements are
   * present; in newer regions the account statement names the stack's own account (which IAM
   * already governs) instead.
   *
   * The mapping covers every region the CDK's region facts know (47 in aws-cdk-lib 2.276), "none"
   * for the newer ones, because CloudFormation resolves Fn::FindInMap even in the Fn::If branch
   * it does not take. A region opened after that list needs the template regenerated with a newer
   * aws-cdk-lib (the stack then fails at once with "Unable to get mapping").
   */
  public allowLoadBalancerLogs(prefix: string): void {
    const regions = RegionInfo.regions
      .map((r) => [r.name, r.elbv2Account ?? "none"] as const)
      .sort(([a], [b]) => a.localeCompare(b));
    const accounts = new CfnMapping(this, "ElbAccounts", {
      mapping: Object.fromEntries(regions.map(([name, account]) => [name, { account }])),
    });
    const elbAccount = accounts.findInMap(Aws.REGION, "account");
    const legacy = new CfnCondition(this, "LegacyElbRegion", {
      expression: Fn.conditionNot(Fn.conditionEquals(elbAccount, "none")),
    });
    const account = Fn.conditionIf(legacy.logicalId, elbAccount, Aws.ACCOUNT_ID).toString();

    const objects = this.bucket.arnForObjects(`${prefix}/AWSLogs/${Aws.ACCOUNT_ID}/*`);
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "ElbLogDeliveryService",
        principals: [new iam.ServicePrincipal("logdelivery.elasticloadbalancing.amazonaws.com")],
        actions: ["s3:PutObject"],
        resources: [objects],
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "ElbLogDeliveryAccount",
        principals: [
          new iam.ArnPrincipal(Fn.join("", ["arn:", Aws.PARTITION, ":iam::", account, ":root"])),
        ],
        actions: ["s3:PutObject"],
        resources: [objects],
      }),
    );
  }
}
