import { type CfnCondition, Duration, Fn, Validations } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { acknowledgeControl } from "./guard.js";

export interface LoadBalancerProps {
  readonly vpc: ec2.IVpc;
  /** Bucket receiving the access logs (SSE-S3, delivery already allowed under `alb/`). */
  readonly accessLogsBucket: s3.IBucket;
  /** ACM certificate ARN (token from a parameter; empty when HTTPS is off). */
  readonly certificateArn: string;
  /** True when a certificate was given. */
  readonly httpsEnabled: CfnCondition;
  /** Seconds a deregistering target keeps its in-flight requests. @default 30 (ALB default 300 makes rollouts slow) */
  readonly deregistrationDelaySeconds?: number;
}

/**
 * Internet-facing ALB in the public subnets, deletion-protected. HTTP on 80; with a certificate,
 * HTTPS on 443 and port 80 redirects to it. Target group on port 80 (nginx on each instance), health check
 * `GET /health`, short deregistration delay, no stickiness (the shared key ring makes any
 * instance able to verify any form), access logs, invalid header fields dropped.
 */
export class LoadBalancer extends Construct {
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  public readonly httpListener: elbv2.CfnListener;
  public readonly httpsListener: elbv2.CfnListener;
  /** `http(s)://<dns name>` depending on the certificate condition. */
  public readonly siteUrl: string;

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);

    this.securityGroup = new ec2.SecurityGroup(this, "SecurityGroup", {
      vpc: props.vpc,
      description: "Load balancer: HTTP/HTTPS from the internet",
      // Egress is opened only towards the fleet's port 80 (see connections in the stack).
      allowAllOutbound: false,
    });
    this.securityGroup.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), "HTTP from anywhere");
    Validations.of(this.securityGroup).acknowledge({
      id: "AwsSolutions-EC23",
      reason:
        "The internet-facing load balancer serves the public site: its HTTP listener port 80 must accept 0.0.0.0/0 (it redirects to HTTPS when a certificate is set); nothing else in the stack accepts traffic from outside the VPC.",
    });
    // 443 is opened only with a certificate, i.e. only when something listens there.
    const httpsIngress = new ec2.CfnSecurityGroupIngress(this, "HttpsIngress", {
      groupId: this.securityGroup.securityGroupId,
      ipProtocol: "tcp",
      fromPort: 443,
      toPort: 443,
      cidrIp: "0.0.0.0/0",
      description: "HTTPS from anywhere",
    });
    httpsIngress.cfnOptions.condition = props.httpsEnabled;
    Validations.of(httpsIngress).acknowledge({
      id: "AwsSolutions-EC23",
      reason:
        "The HTTPS listener port 443 of the internet-facing load balancer, created only when a certificate ARN is given, must accept 0.0.0.0/0 to serve the public site.",
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "LoadBalancer", {
      vpc: props.vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup: this.securityGroup,
      dropInvalidHeaderFields: true,
      http2Enabled: true,
      // Its DNS name is the site's address (and what a CNAME points at): deleting it by mistake
      // breaks every link. `npm run destroy` turns this off just before deleting the stack.
      deletionProtection: true,
    });
    // Set by attribute, not logAccessLogs(): the L2 needs a concrete region to pick the writer.
    this.loadBalancer.setAttribute("access_logs.s3.enabled", "true");
    this.loadBalancer.setAttribute("access_logs.s3.bucket", props.accessLogsBucket.bucketName);
    this.loadBalancer.setAttribute("access_logs.s3.prefix", "alb");
    // ELB checks it may write when the attribute is set.
    if (props.accessLogsBucket.policy) {
      this.loadBalancer.node.addDependency(props.accessLogsBucket.policy);
    }

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, "TargetGroup", {
      vpc: props.vpc,
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      deregistrationDelay: Duration.seconds(props.deregistrationDelaySeconds ?? 30),
      healthCheck: {
        path: "/health",
        healthyHttpCodes: "200",
        interval: Duration.seconds(15),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
      },
    });

    const forward = { Type: "forward", TargetGroupArn: this.targetGroup.targetGroupArn };
    const https = props.httpsEnabled.logicalId;
    // L1 listeners: whether 443 exists and what 80 does depend on a parameter (a condition).
    this.httpListener = new elbv2.CfnListener(this, "HttpListener", {
      loadBalancerArn: this.loadBalancer.loadBalancerArn,
      port: 80,
      protocol: "HTTP",
      defaultActions: [{ type: "forward", targetGroupArn: this.targetGroup.targetGroupArn }],
    });
    // With a certificate, port 80 only redirects (the typed property cannot hold a Fn::If).
    this.httpListener.addPropertyOverride("DefaultActions", [
      Fn.conditionIf(
        https,
        {
          Type: "redirect",
          RedirectConfig: { Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301" },
        },
        forward,
      ),
    ]);
    acknowledgeControl(
      this.httpListener,
      "CT.ELASTICLOADBALANCING.PR.1",
      "Port 80 redirects to HTTPS whenever a certificate is given (Fn::If on HttpsEnabled, which the rule does not evaluate); without one there is no HTTPS listener to redirect to, and ACM cannot certify the *.elb.amazonaws.com name. A CloudFront distribution in front (HTTPS on *.cloudfront.net) is the planned way to HTTPS by default.",
    );
    this.httpsListener = new elbv2.CfnListener(this, "HttpsListener", {
      loadBalancerArn: this.loadBalancer.loadBalancerArn,
      port: 443,
      protocol: "HTTPS",
      certificates: [{ certificateArn: props.certificateArn }],
      sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
      defaultActions: [{ type: "forward", targetGroupArn: this.targetGroup.targetGroupArn }],
    });
    this.httpsListener.cfnOptions.condition = props.httpsEnabled;

    const dns = this.loadBalancer.loadBalancerDnsName;
    this.siteUrl = Fn.conditionIf(
      https,
      Fn.join("", ["https://", dns]),
      Fn.join("", ["http://", dns]),
    ).toString();
  }
}
