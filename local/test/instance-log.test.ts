import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  createInstanceLogFormatter,
  formatInstanceLine,
  pipeInstanceLog,
} from "../src/instance-log.js";

const line = (o: object) => JSON.stringify(o);

describe("instance logs", () => {
  test("formats a pino request line as time, level, message, request and status", () => {
    const time = Date.UTC(2026, 10, 26, 14, 5, 6, 789);
    assert.equal(
      formatInstanceLine(
        line({
          level: 30,
          time,
          msg: "request completed",
          req: { method: "POST", url: "/users" },
          res: { statusCode: 303 },
          responseTime: 4.56,
        }),
      ),
      "14:05:06.789 INFO request completed POST /users 303 4.6ms",
    );
    assert.equal(
      formatInstanceLine(line({ level: 50, time, msg: "boom", err: { message: "table missing" } })),
      "14:05:06.789 ERROR boom error=table missing",
    );
  });

  test("passes anything that is not pino JSON through unchanged", () => {
    assert.equal(formatInstanceLine("    at main (server.ts:1:1)"), "    at main (server.ts:1:1)");
    assert.equal(formatInstanceLine("{not json"), "{not json");
  });

  test("joins each request's two lines into one access line and hides health checks", () => {
    const format = createInstanceLogFormatter();
    const time = Date.UTC(2026, 10, 26, 14, 5, 6, 0);
    const lines = [
      line({
        level: 30,
        time,
        msg: "incoming request",
        reqId: "r1",
        req: { method: "GET", url: "/health" },
      }),
      line({
        level: 30,
        time,
        msg: "incoming request",
        reqId: "r2",
        req: { method: "POST", url: "/users" },
      }),
      line({ level: 40, time, msg: "anti-forgery rejection: missing-session", reqId: "r2" }),
      line({
        level: 30,
        time,
        msg: "request completed",
        reqId: "r1",
        res: { statusCode: 200 },
        responseTime: 1,
      }),
      line({
        level: 30,
        time,
        msg: "request completed",
        reqId: "r2",
        res: { statusCode: 403 },
        responseTime: 5.78,
      }),
      line({
        level: 30,
        time,
        msg: "incoming request",
        reqId: "r3",
        req: { method: "GET", url: "/health/ready" },
      }),
      line({
        level: 30,
        time,
        msg: "request completed",
        reqId: "r3",
        res: { statusCode: 503 },
        responseTime: 2,
      }),
    ];
    assert.deepEqual(
      lines.map(format).filter((l) => l !== undefined),
      [
        "14:05:06.000 WARN anti-forgery rejection: missing-session",
        "14:05:06.000 INFO POST /users 403 5.8ms",
        "14:05:06.000 INFO GET /health/ready 503 2.0ms",
      ],
    );
  });

  test("shows health checks when asked to", () => {
    const format = createInstanceLogFormatter({ hideHealthChecks: false });
    format(
      line({
        level: 30,
        time: 0,
        msg: "incoming request",
        reqId: "r1",
        req: { method: "GET", url: "/health" },
      }),
    );
    assert.equal(
      format(
        line({
          level: 30,
          time: 0,
          msg: "request completed",
          reqId: "r1",
          res: { statusCode: 200 },
          responseTime: 1,
        }),
      ),
      "00:00:00.000 INFO GET /health 200 1.0ms",
    );
  });

  test("prefixes every line with the instance id", async () => {
    const stream = new PassThrough();
    const out: string[] = [];
    pipeInstanceLog(stream, { prefix: "web-2", write: (l) => out.push(l) });
    stream.end("first\n\nsecond\n");
    await delay(20);
    assert.deepEqual(out, ["[web-2] first\n", "[web-2] second\n"]);
  });
});
