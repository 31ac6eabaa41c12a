import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";

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
  }
}
