import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startWebProcess } from "@fleetline/web/testing/web-process";
import { LoadBalancer } from "../../src/load-balancer.js";
import { type Reply, send } from "../support/http.js";
import { LB_DEFAULTS } from "./support/cluster.js";
import { operatorCookie } from "./support/operator-session.js";

// The web refuses a body over its limit from the headers alone (413) while the client is still
// sending. Through the local load balancer the client must get that answer, as it does straight
// from the instance and through the ALB, not a 502 or a cut connection.
test("a 3 MB POST through the local load balancer gets the instance's own 413 page, on fresh and on reused connections", {
  timeout: 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fleetline-early-"));
  const web = await startWebProcess({
    INSTANCE_ID: "early-1",
    // The 413 is decided before any store is touched.
    DYNAMODB_ENDPOINT: "http://127.0.0.1:9",
    KEYRING_STORE: "file",
    KEYRING_DIR: join(dir, "keys"),
  });
  const lb = new LoadBalancer(LB_DEFAULTS);
  t.after(async () => {
    await lb.close();
    await web.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const port = await lb.listen(0);
  lb.register({ id: "early-1", host: "127.0.0.1", port: web.port });
  await lb.waitForHealthy("early-1", 10_000);

  const body = Buffer.alloc(3 * 1024 * 1024, "a");
  // Signed in: an anonymous POST is refused (403) before the size matters, also early.
  const cookie = await operatorCookie({ kind: "file", dir: join(dir, "keys") });
  const headers = { "content-type": "application/x-www-form-urlencoded", cookie };
  const direct = await send(web.port, "/users", { method: "POST", headers, body });
  assert.equal(direct.status, 413);

  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => keepAlive.destroy());
  const outcomes: string[] = [];
  for (const agent of [false, keepAlive] as const) {
    for (let i = 0; i < 10; i += 1) {
      const reply = await send(port, "/users", { method: "POST", headers, body, agent }).catch(
        (error: Error): Reply => ({ status: 0, headers: {}, body: Buffer.from(error.message) }),
      );
      outcomes.push(
        `${reply.status} ${reply.headers["x-served-by"] ?? reply.headers.server ?? "?"} ${
          /<title>([^<]*)</.exec(reply.body.toString())?.[1] ?? reply.body.toString().slice(0, 60)
        }`,
      );
    }
  }
  assert.deepEqual(
    [...new Set(outcomes)],
    ["413 early-1 Too large · fleetline"],
    outcomes.join("\n"),
  );
  // The instance served on: the balancer did not mark it unhealthy over the refused uploads.
  assert.equal(lb.targets()[0]?.state, "healthy");
  assert.equal((await send(port, "/")).status, 200);
});
