import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as cwActions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type * as sns from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";

export interface MonitoringProps {
  /** Dashboard name and alarm name prefix, e.g. `fleetline-prod`. */
  readonly name: string;
  readonly topic: sns.ITopic;
  /** The ALB: its own 5xx (dimension `LoadBalancer`). */
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  /** The fleet's target group, behind `loadBalancer` (dimensions `TargetGroup` + `LoadBalancer`). */
  readonly targetGroup: elbv2.IApplicationTargetGroup;
  readonly autoScalingGroupName: string;
  /** Replication group id; its first node is `<id>-001`. */
  readonly cacheReplicationGroupId: string;
  readonly tableName: string;
  /**
   * The CloudFront distribution in front: its requests and error rates join the dashboard (they
   * are published in us-east-1, whatever the stack's region). @default - no edge row
   */
  readonly distributionId?: string;
  /** 5xx responses per minute (ELB + targets) that trip the alarm. @default 5 */
  readonly errorsPerMinute?: number;
  /** p99 target response time that trips the latency alarm. @default 1 second */
  readonly p99Latency?: Duration;
  /** Average fleet CPU that trips the CPU alarm (scaling targets 50%). @default 80 */
  readonly cpuPercent?: number;
}

/**
 * Alarms to the operator topic (5xx, unhealthy hosts, p99 latency, CPU) and one dashboard of the
 * fleet, the cache and the table. The 5xx alarm is also the deployment group's rollback trigger.
 */
export class Monitoring extends Construct {
  public readonly errorsAlarm: cloudwatch.Alarm;
  public readonly unhealthyHostsAlarm: cloudwatch.Alarm;
  public readonly latencyAlarm: cloudwatch.Alarm;
  public readonly cpuAlarm: cloudwatch.Alarm;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const minute = Duration.minutes(1);
    // The CDK's metric helpers: the ALB's metrics carry the LoadBalancer dimension, the target
    // group's both TargetGroup and LoadBalancer (the first load balancer it is attached to).
    const alb = props.loadBalancer.metrics;
    const tg = props.targetGroup.metrics;
    const perMinute = (statistic: string): cloudwatch.MetricOptions => ({
      statistic,
      period: minute,
    });

    const errors = new cloudwatch.MathExpression({
      // FILL: no 5xx at all publishes no datapoint; the sum must still be 0, not missing.
      expression: "FILL(elb, 0) + FILL(target, 0)",
      usingMetrics: {
        elb: alb.httpCodeElb(elbv2.HttpCodeElb.ELB_5XX_COUNT, perMinute("Sum")),
        target: tg.httpCodeTarget(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, perMinute("Sum")),
      },
      period: minute,
      label: "5xx per minute (load balancer + targets)",
    });
    const unhealthy = tg.unhealthyHostCount(perMinute("Maximum"));
    const healthy = tg.healthyHostCount(perMinute("Minimum"));
    const p99 = tg.targetResponseTime(perMinute("p99"));
    const p50 = tg.targetResponseTime(perMinute("p50"));
    const requests = tg.requestCount(perMinute("Sum"));
    const cpu = new cloudwatch.Metric({
      namespace: "AWS/EC2",
      metricName: "CPUUtilization",
      dimensionsMap: { AutoScalingGroupName: props.autoScalingGroupName },
      statistic: "Average",
      period: Duration.minutes(5),
    });

    const notify = new cwActions.SnsAction(props.topic);
    const alarm = (
      id: string,
      suffix: string,
      description: string,
      options: cloudwatch.CreateAlarmOptions,
      metric: cloudwatch.Metric | cloudwatch.MathExpression,
    ): cloudwatch.Alarm => {
      const a = metric.createAlarm(this, id, {
        alarmName: `${props.name}-${suffix}`,
        alarmDescription: description,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...options,
      });
      a.addAlarmAction(notify);
      a.addOkAction(notify);
      return a;
    };

    this.errorsAlarm = alarm(
      "Errors",
      "5xx",
      "5xx responses from the load balancer or the web; also rolls back a deployment in progress.",
      {
        threshold: props.errorsPerMinute ?? 5,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      },
      errors,
    );
    this.unhealthyHostsAlarm = alarm(
      "UnhealthyHosts",
      "unhealthy-hosts",
      "At least one target failed the /health check for 3 minutes.",
      {
        threshold: 1,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      },
      unhealthy,
    );
    this.latencyAlarm = alarm(
      "Latency",
      "p99-latency",
      "p99 target response time above the limit for 5 minutes.",
      {
        threshold: (props.p99Latency ?? Duration.seconds(1)).toSeconds(),
        evaluationPeriods: 5,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      },
      p99,
    );
    this.cpuAlarm = alarm(
      "Cpu",
      "cpu",
      "Fleet CPU stays high although scaling targets 50%: at max size, or scaling is stuck.",
      {
        threshold: props.cpuPercent ?? 80,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      },
      cpu,
    );

    const cacheNode = { CacheClusterId: `${props.cacheReplicationGroupId}-001` };
    const cacheMetric = (metricName: string, statistic: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: "AWS/ElastiCache",
        metricName,
        dimensionsMap: cacheNode,
        statistic,
        period: Duration.minutes(5),
      });
    const tableMetric = (metricName: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: "AWS/DynamoDB",
        metricName,
        dimensionsMap: { TableName: props.tableName },
        statistic: "Sum",
        period: Duration.minutes(5),
      });

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: props.name,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: "Alarms",
        alarms: [this.errorsAlarm, this.unhealthyHostsAlarm, this.latencyAlarm, this.cpuAlarm],
        width: 24,
        height: 3,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: "Requests / 5xx", left: [requests], right: [errors] }),
      new cloudwatch.GraphWidget({ title: "Response time", left: [p50, p99] }),
      new cloudwatch.GraphWidget({ title: "Targets", left: [healthy, unhealthy] }),
      new cloudwatch.GraphWidget({ title: "Fleet CPU %", left: [cpu] }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Cache (primary node)",
        left: [
          cacheMetric("EngineCPUUtilization", "Average"),
          cacheMetric("DatabaseMemoryUsagePercentage", "Average"),
        ],
        right: [cacheMetric("CurrConnections", "Maximum")],
      }),
      new cloudwatch.GraphWidget({
        title: "Users table",
        left: [tableMetric("ConsumedReadCapacityUnits"), tableMetric("ConsumedWriteCapacityUnits")],
        right: [tableMetric("ReadThrottleEvents"), tableMetric("WriteThrottleEvents")],
      }),
    );
    if (props.distributionId !== undefined) {
      const edgeMetric = (metricName: string, statistic: string): cloudwatch.Metric =>
        new cloudwatch.Metric({
          namespace: "AWS/CloudFront",
          metricName,
          dimensionsMap: { DistributionId: props.distributionId!, Region: "Global" },
          statistic,
          period: minute,
          region: "us-east-1",
        });
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: "Edge (CloudFront, what viewers see)",
          left: [edgeMetric("Requests", "Sum")],
          right: [edgeMetric("4xxErrorRate", "Average"), edgeMetric("5xxErrorRate", "Average")],
          width: 24,
        }),
      );
    }
  }
}
