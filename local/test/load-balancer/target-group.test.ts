import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { TargetGroup, type TargetGroupOptions } from "../../src/load-balancer/target-group.js";
import { startServer } from "../support/http.js";

function startGroup(t: TestContext, options: TargetGroupOptions) {
  const group = new TargetGroup(options);
  t.after(() => group.close());
  return group;
}

/** A target whose /health answers 200 until `silence()`, then accepts and never answers. */
async function silencingTarget(t: TestContext) {
  let silent = false;
  const server = await startServer(t, (_req, res) => {
    if (!silent) res.end("ok");
    // silent: the request is read, the connection stays open, nothing is ever written
  });
  return {
    port: server.port,
    silence: () => {
      silent = true;
    },
  };
}

describe("TargetGroup", { timeout: 30_000 }, () => {
  test("a target that accepts health checks and never answers goes unhealthy after timeout x threshold", async (t) => {
    const timeoutMs = 200;
    const intervalMs = 40;
    const group = startGroup(t, {
      healthCheckIntervalMs: intervalMs,
      healthCheckTimeoutMs: timeoutMs,
      healthyThreshold: 1,
      unhealthyThreshold: 3,
    });
    const target = await silencingTarget(t);
    group.register({ id: "mute", host: "127.0.0.1", port: target.port });
    await group.waitForHealthy("mute", 2000);
    const reasons: string[] = [];
    group.onStateChange((view, reason) => reasons.push(`${view.state}: ${reason}`));

    target.silence();
    const since = Date.now();
    await group.waitForState("mute", "unhealthy", 3000);
    const took = Date.now() - since;
    // Three probes that each wait out the timeout, with the interval between them.
    assert.ok(took >= 3 * timeoutMs - 20, `unhealthy after only ${took} ms`);
    assert.ok(took <= 3 * (timeoutMs + intervalMs) + 300, `unhealthy after ${took} ms`);
    assert.deepEqual(reasons, ["unhealthy: 3 checks failed: no answer within 200 ms"]);
    // And it takes no traffic meanwhile.
    assert.equal(group.acquire(), undefined);
  });

  test("deregister waits for in-flight requests, not for the deregistration delay", async (t) => {
    const group = startGroup(t, {
      healthCheckIntervalMs: 40,
      healthyThreshold: 1,
      deregistrationDelayMs: 5000,
    });
    const target = await silencingTarget(t);
    group.register({ id: "a", host: "127.0.0.1", port: target.port });
    await group.waitForHealthy("a", 2000);
    const first = group.acquire();
    const second = group.acquire();
    assert.ok(first && second && first === second);

    let removed = false;
    const deregistered = group.deregister("a").then(() => {
      removed = true;
    });
    assert.equal(group.targets()[0]?.state, "draining");
    assert.equal(group.acquire(), undefined, "a draining target gets no new request");
    group.release(first);
    await delay(100);
    assert.equal(removed, false, "one request still in flight");
    assert.equal(first.retired.aborted, false);
    const started = Date.now();
    group.release(second);
    await deregistered;
    assert.ok(Date.now() - started < 1000, "removed when the last request ended");
    assert.equal(first.retired.aborted, true, "its connections are closed once it is removed");
    assert.deepEqual(group.targets(), []);
  });
});
