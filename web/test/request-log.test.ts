import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";
import { type RequestLogConfig, requestLogOptions } from "../src/request-log.js";

async function appLogging(config: RequestLogConfig) {
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (l: string) => void logs.push(JSON.parse(l)) });
  const app = Fastify({
    loggerInstance: logger,
    ...requestLogOptions(config),
  }) as unknown as FastifyInstance;
  app.get("/ok", async () => "ok");
  app.get("/redirect", async (_req, reply) => reply.redirect("/ok", 303));
  app.get("/refused", async (_req, reply) => reply.code(429).send("slow down"));
  app.get("/broken", async () => {
    throw new Error("boom");
  });
  app.get("/slow", async () => {
    await delay(60);
    return "late";
  });
  await app.ready();
  return { app, logs };
}

const completed = (logs: Array<Record<string, unknown>>) =>
  logs
    .filter((l) => l.msg === "request completed")
    .map((l) => ({
      url: (l.req as { url: string }).url,
      status: (l.res as { statusCode: number }).statusCode,
      level: l.level,
      slow: l.slow === true,
    }));

test("notable mode logs refusals, errors and slow requests, and no line for a fast 2xx or 3xx", async (t) => {
  const { app, logs } = await appLogging({ REQUEST_LOG: "notable", SLOW_REQUEST_MS: 50 });
  t.after(() => app.close());
  for (const url of ["/ok", "/redirect", "/refused", "/broken", "/slow"]) {
    await app.inject({ url });
  }
  assert.deepEqual(completed(logs), [
    { url: "/refused", status: 429, level: 30, slow: false },
    { url: "/broken", status: 500, level: 50, slow: false },
    { url: "/slow", status: 200, level: 40, slow: true },
  ]);
  assert.ok(!logs.some((l) => l.msg === "incoming request"));
});

test("all mode keeps Fastify's two lines per request (what the local stack's terminal shows)", async (t) => {
  const { app, logs } = await appLogging({ REQUEST_LOG: "all" });
  t.after(() => app.close());
  await app.inject({ url: "/ok" });
  assert.deepEqual(
    logs.map((l) => l.msg),
    ["incoming request", "request completed"],
  );
});
