import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { acknowledgeControl } from "./guard.js";

export interface ArtifactBucketProps {
  /** Bucket receiving the server access logs. */
  readonly accessLogsBucket: s3.IBucket;
  /** Days before pipeline artifacts (source zips, bundles) are deleted. @default 30 */
  readonly expirationDays?: number;
}

/**
 * The pipeline's artifact store, also where the CodeDeploy agent downloads revisions from:
 * encrypted (SSE-S3, so instances need no KMS grant), TLS only, public access blocked, old
 * artifacts expire. Retained on stack deletion because it is never empty (see README).
 */
export class ArtifactBucket extends Construct {
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: ArtifactBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, "Bucket", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: "artifact-bucket/",
      lifecycleRules: [
        {
          expiration: Duration.days(props.expirationDays ?? 30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const ack = (control: Parameters<typeof acknowledgeControl>[1], reason: string) =>
      acknowledgeControl(this.bucket, control, reason);
    ack(
      "CT.S3.PR.4",
      "CodePipeline and CodeDeploy read artifacts by the keys they wrote; nothing reacts to object events in the artifact store.",
    );
    ack(
      "CT.S3.PR.9",
      "Object Lock would stop the 30-day expiration of source zips and bundles and keep the retained bucket from being emptied after a teardown; artifacts are rebuilt from git on any push, so immutability adds no recovery.",
    );
    ack(
      "CT.S3.PR.10",
      "SSE-S3 on purpose: with a KMS key, every instance role downloading revisions, the pipeline's roles and CodeBuild would need grants on the key, for no reader that the private, TLS-only bucket policy does not already exclude.",
    );
    ack(
      "CT.S3.PR.11",
      "Each pipeline execution writes artifacts under new generated keys and nothing overwrites them; versioning would only keep expired artifacts as billed noncurrent versions.",
    );
  }
}
