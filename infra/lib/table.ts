import { Aws, type CfnCondition, Fn, type IResolvable, RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import { Construct } from "constructs";
import { acknowledgeControl } from "./guard.js";

export interface UsersTableProps {
  /** When true (a condition), PROVISIONED billing with the capacities below; else on-demand. */
  readonly provisioned: CfnCondition;
  /** Read capacity units used when provisioned (token from a parameter). */
  readonly readCapacity: number;
  /** Write capacity units used when provisioned (token from a parameter). */
  readonly writeCapacity: number;
  /** `"true"` or `"false"` (a parameter's value; CloudFormation reads it as a boolean). */
  readonly deletionProtection: IResolvable;
}

/**
 * The Users table: partition key `id` (string), point-in-time recovery on, and retained when
 * the stack is deleted or the table would be replaced, so no teardown ever loses data.
 *
 * The name is left to CloudFormation: a fixed name would make re-creating the stack fail on the
 * retained table of the previous one. The web gets the name from its environment file.
 */
export class UsersTable extends Construct {
  public readonly table: dynamodb.CfnTable;
  public readonly tableName: string;
  public readonly tableArn: string;

  constructor(scope: Construct, id: string, props: UsersTableProps) {
    super(scope, id);
    const provisioned = props.provisioned.logicalId;
    // L1 because the billing mode is a deploy-time choice (a condition), which the L2 Table's
    // enum cannot express.
    this.table = new dynamodb.CfnTable(this, "Table", {
      keySchema: [{ attributeName: "id", keyType: "HASH" }],
      attributeDefinitions: [{ attributeName: "id", attributeType: "S" }],
      billingMode: Fn.conditionIf(provisioned, "PROVISIONED", "PAY_PER_REQUEST").toString(),
      provisionedThroughput: Fn.conditionIf(
        provisioned,
        { ReadCapacityUnits: props.readCapacity, WriteCapacityUnits: props.writeCapacity },
        Aws.NO_VALUE,
      ),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // No sseSpecification: the table is still encrypted at rest, with an AWS-owned key that
      // costs nothing per request (the AWS-managed KMS key would bill every read and write).
      deletionProtectionEnabled: props.deletionProtection,
    });
    this.table.applyRemovalPolicy(RemovalPolicy.RETAIN);
    acknowledgeControl(
      this.table,
      "CT.DYNAMODB.PR.2",
      "The Users table is encrypted at rest with DynamoDB's AWS-owned key, free per request; the AWS-managed or a customer-managed KMS key would bill every read and write of a table that holds only first and last names, and a customer key would also need grants to the instance role.",
    );
    this.tableName = this.table.ref;
    this.tableArn = this.table.attrArn;
  }
}
