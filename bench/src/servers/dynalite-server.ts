// dynalite in memory with the Users table, in a process of its own so that its CPU is not
// taken from the load generator.
import { startLocalDynamoDb } from "@fleetline/local/shared-services";

const db = await startLocalDynamoDb();
process.stdout.write(`${JSON.stringify({ ready: true, port: db.port })}\n`);
process.once("SIGTERM", () => {
  void db.stop().then(() => process.exit(0));
});
