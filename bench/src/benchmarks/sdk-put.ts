import { randomUUID } from "node:crypto";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Benchmark } from "../context.js";

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * The store's own speed: the same conditional puts the web's UsersRepository.create sends,
 * straight from this process with the SDK, as many at a time as autocannon has connections.
 * POST /users is compared with this to see what the app adds over its store.
 */
export const sdkPut: Benchmark = async (ctx) => {
  const raw = new DynamoDBClient({
    endpoint: ctx.dynamodbEndpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 2,
  });
  const db = DynamoDBDocumentClient.from(raw);
  const put = () => {
    const now = new Date().toISOString();
    return db.send(
      new PutCommand({
        TableName: "Users",
        Item: {
          id: randomUUID(),
          firstName: "Bench",
          lastName: "Direct",
          version: 1,
          createdAt: now,
          updatedAt: now,
        },
        ConditionExpression: "attribute_not_exists(id)",
      }),
    );
  };
  const run = async (seconds: number, latencies?: number[]) => {
    const end = performance.now() + seconds * 1000;
    let failed = 0;
    const worker = async () => {
      while (performance.now() < end) {
        const started = performance.now();
        try {
          await put();
          latencies?.push(performance.now() - started);
        } catch {
          failed++;
        }
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: ctx.connections }, worker));
    return { failed, elapsedS: (performance.now() - started) / 1000 };
  };
  try {
    if (ctx.warmupS > 0) await run(ctx.warmupS);
    const latencies: number[] = [];
    const { failed, elapsedS } = await run(ctx.durationS, latencies);
    latencies.sort((a, b) => a - b);
    return [
      {
        id: "store.put",
        name: "baseline: same writes straight to dynalite (SDK)",
        value: latencies.length / elapsedS,
        unit: "req/s",
        p99Ms: percentile(latencies, 99),
        note: `${ctx.connections} concurrent PutItem calls from the bench process${failed > 0 ? `; ${failed} failed` : ""}`,
      },
    ];
  } finally {
    raw.destroy();
  }
};
