// dynalite in memory with the Users table, in a process of its own so that its CPU is not
// taken from the load generator.
import { startEmbeddedDynamoDb } from "../../../local/src/embedded-dynamodb.js";
import { ensureUsersTable } from "../../../local/src/users-table.js";

const db = await startEmbeddedDynamoDb();
await ensureUsersTable({ endpoint: db.endpoint, tableName: "Users", region: "us-east-1" });
process.stdout.write(`${JSON.stringify({ ready: true, port: db.port })}\n`);
process.once("SIGTERM", () => {
  void db.stop().then(() => process.exit(0));
});
