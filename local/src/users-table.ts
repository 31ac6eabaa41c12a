import { setTimeout as delay } from "node:timers/promises";
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from "@aws-sdk/client-dynamodb";

/** Where the table lives. All fields required. */
export interface UsersTableOptions {
  readonly endpoint: string;
  readonly tableName: string;
  readonly region: string;
}

/**
 * Creates the Users table the web expects (partition key `id`, string, on-demand) unless it
 * exists: the web never creates tables — on AWS the CDK stack does — so locally this does.
 * Resolves true when it created the table.
 */
export async function ensureUsersTable(options: UsersTableOptions): Promise<boolean> {
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: options.region,
    // dynalite checks that requests are signed, not by whom.
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  try {
    let created = false;
    try {
      await client.send(new DescribeTableCommand({ TableName: options.tableName }));
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
      await client.send(
        new CreateTableCommand({
          TableName: options.tableName,
          AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
      created = true;
    }
    // A new table is CREATING for a moment (even in dynalite) and rejects items until ACTIVE.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { Table } = await client.send(
        new DescribeTableCommand({ TableName: options.tableName }),
      );
      if (Table?.TableStatus === "ACTIVE") return created;
      if (Date.now() > deadline) {
        throw new Error(`table ${options.tableName} still ${Table?.TableStatus} after 10 s`);
      }
      await delay(25);
    }
  } finally {
    client.destroy();
  }
}
