import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";

export interface AlertsProps {
  /** Name of the topic, e.g. `fleetline-prod-alerts`. */
  readonly topicName: string;
  /** Operator e-mail subscribed to the topic (token from a parameter). */
  readonly email: string;
}

/** The operator's SNS topic: alarms, deployment rollbacks and instance launches/terminations. */
export class Alerts extends Construct {
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, "Topic", {
      topicName: props.topicName,
      displayName: "fleetline alerts",
      enforceSSL: true,
      // No KMS key: CloudWatch alarms and Auto Scaling notifications cannot publish to a topic
      // under the AWS-managed aws/sns key, and the messages carry only alarm states and ids.
    });
    this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}
