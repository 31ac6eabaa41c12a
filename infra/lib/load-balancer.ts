import { Duration } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { acknowledgeControl } from "./guard.js";

export interface LoadBalancerProps {
  readonly vpc: ec2.IVpc;
  /**
   * Subnets of the internal ALB, and so of the CloudFront VPC origin's network interfaces:
   * the only sources its security group admits.
   */
  readonly subnets: ec2.ISubnet[];
  /** Bucket receiving the access logs (SSE-S3, delivery already allowed under `alb/`). */
  readonly accessLogsBucket: s3.IBucket;
  /** Seconds a deregistering target keeps its in-flight requests. @default 30 (ALB default 300 makes rollouts slow) */
  readonly deregistrationDelaySeconds?: number;
}

/**
 * Internal ALB in private subnets, deletion-protected, reached only by CloudFront through a VPC origin (see edge.ts):
 * no public address, no listener the internet can reach. HTTP on 80 (TLS ends at CloudFront),
 * target group on port 80 (nginx on each instance), health check `GET /health`, short
 * deregistration delay, no stickiness (the shared key ring makes any instance able to verify any
 * form), access logs, invalid header fields dropped.
 */
export class LoadBalancer extends Construct {
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  public readonly targetGroup: elbv2.ApplicationTargetGroup;
  public readonly httpListener: elbv2.ApplicationListener;

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);

    this.securityGroup = new ec2.SecurityGroup(this, "SecurityGroup", {
      vpc: props.vpc,
      // EC2 refuses apostrophes in group descriptions (cfn-lint E3031).
      description:
        "Internal load balancer: HTTP from the subnets of the CloudFront VPC origin only",
      // Egress is opened only towards the fleet's port 80 (see connections in the stack).
      allowAllOutbound: false,
    });
    // CloudFront places the VPC origin's network interfaces in the ALB's subnets. Its own
    // CloudFront-VPCOrigins-Service-SG exists only after the distribution does, and the
    // origin-facing prefix list has a different id in every region: the subnets' ranges are
    // what one region-agnostic template can name.
    props.subnets.forEach((subnet, i) => {
      this.securityGroup.addIngressRule(
        ec2.Peer.ipv4(subnet.ipv4CidrBlock),
        ec2.Port.tcp(80),
        `HTTP from the VPC origin in subnet ${i + 1}`,
      );
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "LoadBalancer", {
      vpc: props.vpc,
      internetFacing: false,
      vpcSubnets: { subnets: props.subnets },
      securityGroup: this.securityGroup,
      dropInvalidHeaderFields: true,
      http2Enabled: true,
      // Deleting it by mistake takes the site down until the next stack update; `npm run
      // destroy` turns this off just before deleting the stack.
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

    this.httpListener = this.loadBalancer.addListener("HttpListener", {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultTargetGroups: [this.targetGroup],
    });
    acknowledgeControl(
      this.httpListener,
      "CT.ELASTICLOADBALANCING.PR.1",
      "The internal ALB's only client is CloudFront's VPC origin, inside the VPC: viewers get HTTPS at CloudFront, whose viewer policy redirects HTTP to HTTPS. An HTTPS listener here would need a certificate for the ALB's *.elb.amazonaws.com name, which ACM cannot issue.",
    );
  }
}
