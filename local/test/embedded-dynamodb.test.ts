import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import { startEmbeddedDynamoDb } from "../src/embedded-dynamodb.js";
import { ensureUsersTable } from "../src/users-table.js";

function client(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
  });
}

describe("embedded DynamoDB", { timeout: 20_000 }, () => {
  test("creates the Users table once with key id (S) on demand", async (t) => {
    const db = await startEmbeddedDynamoDb();
    t.after(() => db.stop());
    const options = { endpoint: db.endpoint, tableName: "Users", region: "us-east-1" };
    assert.equal(await ensureUsersTable(options), true);
    assert.equal(await ensureUsersTable(options), false, "second call finds it");
    const c = client(db.endpoint);
    t.after(() => c.destroy());
    const { Table } = await c.send(new DescribeTableCommand({ TableName: "Users" }));
    assert.equal(Table?.TableStatus, "ACTIVE");
    assert.deepEqual(Table?.KeySchema, [{ AttributeName: "id", KeyType: "HASH" }]);
    assert.equal(Table?.BillingModeSummary?.BillingMode, "PAY_PER_REQUEST");
  });

  test("keeps items across a restart when given a data directory", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "fleetline-dynamo-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const first = await startEmbeddedDynamoDb({ dataDir: dir });
    await ensureUsersTable({ endpoint: first.endpoint, tableName: "Users", region: "us-east-1" });
    const c1 = client(first.endpoint);
    await c1.send(
      new PutItemCommand({
        TableName: "Users",
        Item: { id: { S: "u1" }, firstName: { S: "Ada" } },
      }),
    );
    c1.destroy();
    await first.stop();

    const second = await startEmbeddedDynamoDb({ dataDir: dir });
    t.after(() => second.stop());
    assert.equal(
      await ensureUsersTable({
        endpoint: second.endpoint,
        tableName: "Users",
        region: "us-east-1",
      }),
      false,
    );
    const c2 = client(second.endpoint);
    t.after(() => c2.destroy());
    const { Item } = await c2.send(
      new GetItemCommand({ TableName: "Users", Key: { id: { S: "u1" } } }),
    );
    assert.equal(Item?.firstName?.S, "Ada");
  });

  test("starts empty every time in memory", async (t) => {
    const first = await startEmbeddedDynamoDb();
    await ensureUsersTable({ endpoint: first.endpoint, tableName: "Users", region: "us-east-1" });
    await first.stop();
    const second = await startEmbeddedDynamoDb();
    t.after(() => second.stop());
    assert.equal(
      await ensureUsersTable({
        endpoint: second.endpoint,
        tableName: "Users",
        region: "us-east-1",
      }),
      true,
    );
  });
});
