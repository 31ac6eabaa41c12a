import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  createHealthCheckFilter,
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

  test("hides health-check requests and their completion lines, nothing else", () => {
    const keep = createHealthCheckFilter();
    const lines = [
      line({ msg: "incoming request", reqId: "r1", req: { url: "/health" } }),
      line({ msg: "incoming request", reqId: "r2", req: { url: "/users" } }),
      line({ msg: "request completed", reqId: "r1", res: { statusCode: 200 } }),
      line({ msg: "request completed", reqId: "r2", res: { statusCode: 200 } }),
      line({ msg: "incoming request", reqId: "r3", req: { url: "/health/ready" } }),
    ];
    assert.deepEqual(
      lines.filter(keep).map((l) => JSON.parse(l).reqId),
      ["r2", "r2", "r3"],
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
