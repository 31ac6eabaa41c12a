import { Aws, type CfnCondition, Duration, Fn, Validations } from "aws-cdk-lib";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as origins from "aws-cdk-lib/aws-cloudfront-origins";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { Construct } from "constructs";
import { acknowledgeControl } from "./guard.js";

export interface EdgeProps {
  /** The internal load balancer, reached only through the VPC origin. */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** Comma-separated alias names (token from a parameter; empty without a custom domain). */
  readonly domainNames: string;
  /** ACM certificate ARN in us-east-1 covering the aliases (token; empty without). */
  readonly certificateArn: string;
  /** True when a custom domain (aliases + certificate) is given. */
  readonly customDomain: CfnCondition;
  /** ARN of a CLOUDFRONT-scope WAF web ACL (token; empty for none). */
  readonly webAclArn: string;
  /** True when a web ACL ARN is given. */
  readonly webAclEnabled: CfnCondition;
}

/**
 * The public entry point: a CloudFront distribution with its default `*.cloudfront.net`
 * certificate, so every deployment is HTTPS from the first deploy without a domain (HTTP
 * redirects), in front of the internal ALB through a VPC origin. Pages are never cached (they
 * are per operator and carry anti-forgery tokens); `/static/*` is, with the managed policy.
 * With a custom domain, its us-east-1 certificate and aliases replace the default certificate.
 */
export class Edge extends Construct {
  public readonly distribution: cloudfront.Distribution;
  /** `https://<distribution>.cloudfront.net` */
  public readonly defaultOrigin: string;
  /** `https://<first alias>`: meaningful only under the custom-domain condition. */
  public readonly customOrigin: string;
  /** The origin users type: the first alias with a custom domain, else the default one. */
  public readonly siteOrigin: string;

  constructor(scope: Construct, id: string, props: EdgeProps) {
    super(scope, id);

    const origin = origins.VpcOrigin.withApplicationLoadBalancer(props.loadBalancer, {
      // TLS ends at CloudFront: the hop to the ALB stays inside the VPC, and ACM cannot
      // certify the ALB's *.elb.amazonaws.com name for CloudFront to verify.
      protocolPolicy: cloudfront.OriginProtocolPolicy.HTTP_ONLY,
      // VPC origin names are unique per account: the stack's name, not the construct path
      // that every stack of this template shares.
      vpcOriginName: Fn.join("-", [Aws.STACK_NAME, "alb"]),
      originId: "web",
      httpPort: 80,
      // Above the web's own request budget, so the web's 503 page reaches the user rather
      // than CloudFront's 504.
      readTimeout: Duration.seconds(30),
      // Below the ALB's 60 s idle timeout: CloudFront closes idle connections first.
      keepaliveTimeout: Duration.seconds(55),
    });

    this.distribution = new cloudfront.Distribution(this, "Distribution", {
      comment: Fn.join("", ["fleetline ", Aws.STACK_NAME]),
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        // Cookies, query strings and headers reach the web; Host stays the ALB's own, since
        // the web checks origins against its configured public origin, not against Host.
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        compress: true,
      },
      additionalBehaviors: {
        "/static/*": {
          origin,
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
          allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
          cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
          compress: true,
        },
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      // North America and Europe edges only: the cheapest class; see the README's cost table.
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      enableIpv6: true,
    });

    const cfn = this.distribution.node.defaultChild as cloudfront.CfnDistribution;
    // Whether aliases and a certificate exist is a deploy-time choice (a condition), which
    // the L2's typed props cannot express.
    const custom = props.customDomain.logicalId;
    cfn.addPropertyOverride(
      "DistributionConfig.Aliases",
      Fn.conditionIf(custom, Fn.split(",", props.domainNames), Aws.NO_VALUE),
    );
    cfn.addPropertyOverride(
      "DistributionConfig.ViewerCertificate",
      Fn.conditionIf(
        custom,
        {
          AcmCertificateArn: props.certificateArn,
          SslSupportMethod: "sni-only",
          MinimumProtocolVersion: "TLSv1.2_2021",
        },
        { CloudFrontDefaultCertificate: true },
      ),
    );
    cfn.addPropertyOverride(
      "DistributionConfig.WebACLId",
      Fn.conditionIf(props.webAclEnabled.logicalId, props.webAclArn, Aws.NO_VALUE),
    );

    Validations.of(this.distribution).acknowledge(
      {
        id: "AwsSolutions-CFR1",
        reason:
          "An operators' users directory has no country to exclude by default; a web ACL (WebAclArn) can add geo rules where an organisation needs them.",
      },
      {
        id: "AwsSolutions-CFR2",
        reason:
          "CLOUDFRONT-scope web ACLs exist only in us-east-1, which this regional stack cannot create: WebAclArn attaches one (cloudformation/edge-waf.template.json creates it, off by default for its cost); the web rate-limits sign-ins and writes across the fleet either way.",
      },
      {
        id: "AwsSolutions-CFR3",
        reason:
          "Every request that passes the edge reaches the ALB, whose access logs (with the viewer address in X-Forwarded-For) go to the access-log bucket; CloudFront's standard logs would need an ACL-enabled bucket, which the log bucket refuses (BucketOwnerEnforced).",
      },
      {
        id: "AwsSolutions-CFR4",
        reason:
          "Without a custom domain the distribution uses CloudFront's default *.cloudfront.net certificate, whose minimum protocol CloudFront fixes; with a custom domain the viewer certificate is set to TLSv1.2_2021 (override above).",
      },
    );

    const distribution = this.distribution;
    acknowledgeControl(
      distribution,
      "CT.CLOUDFRONT.PR.1",
      "The origin is the web application, which answers / itself (the home page); a default root object would rewrite / to an object key that does not exist on it.",
    );
    acknowledgeControl(
      distribution,
      "CT.CLOUDFRONT.PR.4",
      "There is one origin, the internal ALB, which already spreads over two Availability Zones and healthy instances only; a failover origin would need a second copy of the fleet.",
    );
    acknowledgeControl(
      distribution,
      "CT.CLOUDFRONT.PR.5",
      "Requests that pass the edge are logged by the ALB (access-log bucket, viewer address in X-Forwarded-For); CloudFront's legacy logs need an ACL-enabled bucket and its v2 log delivery must be created in us-east-1, outside this regional stack.",
    );
    for (const control of [
      "CT.CLOUDFRONT.PR.6",
      "CT.CLOUDFRONT.PR.7",
      "CT.CLOUDFRONT.PR.9",
    ] as const) {
      acknowledgeControl(
        distribution,
        control,
        "HTTPS without a domain is the point of the default: the *.cloudfront.net certificate, whose protocol and SNI settings CloudFront fixes. With DomainNames and CertificateArn the viewer certificate becomes the custom one, SNI, TLSv1.2_2021 minimum (Fn::If on CustomDomain, which the rule does not evaluate).",
      );
    }

    const domain = this.distribution.distributionDomainName;
    this.defaultOrigin = Fn.join("", ["https://", domain]);
    this.customOrigin = Fn.join("", ["https://", Fn.select(0, Fn.split(",", props.domainNames))]);
    this.siteOrigin = Fn.conditionIf(custom, this.customOrigin, this.defaultOrigin).toString();
  }
}
