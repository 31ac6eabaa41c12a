import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { startLocalStack } from "../../src/local-stack.js";
import { signInOverHttp } from "../../src/sign-in-client.js";
import { LB_DEFAULTS, scanUsers, startCluster } from "./support/cluster.js";
import { describeFailures, missingWrites, Traffic } from "./support/traffic.js";

// Failures to turn unhealthy × interval, plus one probe timeout: the longest a dead target can
// still be picked. Half an interval of slack for timers on a busy machine.
const EJECTION_WINDOW_MS =
  LB_DEFAULTS.unhealthyThreshold * LB_DEFAULTS.healthCheckIntervalMs +
  LB_DEFAULTS.healthCheckTimeoutMs +
  LB_DEFAULTS.healthCheckIntervalMs / 2;

test("an instance SIGKILLed under load is ejected within the health-check window and loses no acknowledged write", {
  timeout: 90_000,
}, async (t) => {
  const cluster = await startCluster(t, { instances: 2 });
  const traffic = await Traffic.start({
    url: cluster.lbUrl,
    tag: `kill-${Date.now()}`,
    cookie: cluster.cookie,
  });
  t.after(() => traffic.stop());
  await delay(1500);

  const victim = cluster.instances[0];
  assert.ok(victim);
  const killedAt = traffic.now();
  await victim.kill();
  await cluster.lb.waitForState(victim.id, "unhealthy", 10_000);
  const ejectedAt = traffic.now();
  await delay(1500);
  await traffic.stop();

  const inWindow = traffic.failures(killedAt, ejectedAt + 250);
  const after = traffic.failures(ejectedAt + 250);
  const before = traffic.failures(0, killedAt);
  t.diagnostic(
    `ejected ${(ejectedAt - killedAt).toFixed(0)} ms after SIGKILL (window ${EJECTION_WINDOW_MS} ms); ` +
      `${inWindow.length} failed requests in that window (${describeFailures(inWindow)}) ` +
      `of ${traffic.count()} requests, ${traffic.acknowledged.size} acknowledged writes`,
  );
  assert.equal(before.length, 0, `failures before the kill: ${describeFailures(before)}`);
  assert.ok(
    ejectedAt - killedAt <= EJECTION_WINDOW_MS,
    `ejected after ${(ejectedAt - killedAt).toFixed(0)} ms, window ${EJECTION_WINDOW_MS} ms`,
  );
  assert.equal(after.length, 0, `failures after ejection: ${describeFailures(after)}`);
  // Until ejection the balancer picks the dead target every other time (round robin over two),
  // and answers each of those with its own 502 page at once: nothing hangs, nothing is cut off,
  // and the survivor takes the other half.
  const windowed = traffic.outcomes.filter((o) => o.at >= killedAt && o.at <= ejectedAt + 250);
  assert.ok(
    inWindow.every((o) => o.status === 502),
    `failures in the window other than the balancer's 502: ${describeFailures(inWindow)}`,
  );
  assert.ok(
    inWindow.length <= Math.ceil(windowed.length / 2) + 2,
    `${inWindow.length} of ${windowed.length} requests failed in the window: more than the dead target's share`,
  );
  // The survivor served on after the kill.
  const survivor = cluster.instances[1];
  assert.ok(
    traffic.outcomes.some((o) => o.at > ejectedAt && o.servedBy === survivor?.id && o.status > 0),
  );
  assert.ok(traffic.acknowledged.size > 0, "no write was acknowledged at all");
  const missing = missingWrites(traffic.acknowledged, await cluster.dynamo.scanUsers());
  assert.deepEqual(missing, [], "acknowledged writes missing from the table");
});

test("in the local stack a SIGKILLed instance is ejected, restarted by the supervisor and back in rotation, with no acknowledged write lost", {
  timeout: 90_000,
}, async (t) => {
  const stack = await startLocalStack({
    instances: 2,
    port: 0,
    instancePort: 0,
    inMemory: true,
    loadBalancer: {
      healthCheckIntervalMs: LB_DEFAULTS.healthCheckIntervalMs,
      healthCheckTimeoutMs: LB_DEFAULTS.healthCheckTimeoutMs,
      unhealthyThreshold: LB_DEFAULTS.unhealthyThreshold,
      healthyThreshold: LB_DEFAULTS.healthyThreshold,
    },
    webSettings: { LOG_LEVEL: "warn", RATE_LIMIT_WRITE_MAX: 1_000_000 },
  });
  t.after(() => stack.stop());
  const traffic = await Traffic.start({
    url: stack.url,
    tag: `stack-kill-${Date.now()}`,
    cookie: (await signInOverHttp({ siteUrl: stack.url, ...stack.oidc.operator })).cookie,
  });
  t.after(() => traffic.stop());
  await delay(1000);

  const victim = "web-1";
  const killedAt = traffic.now();
  stack.fleet.signal(victim, "SIGKILL");
  await stack.loadBalancer.waitForState(victim, "unhealthy", 10_000);
  const ejectedAt = traffic.now();
  await stack.loadBalancer.waitForHealthy(victim, 30_000);
  const backAt = traffic.now();
  await delay(1500);
  await traffic.stop();

  const inWindow = traffic.failures(killedAt, ejectedAt + 250);
  const outside = traffic.failures().filter((f) => !inWindow.includes(f));
  t.diagnostic(
    `ejected ${(ejectedAt - killedAt).toFixed(0)} ms after SIGKILL, back in rotation after ${(backAt - killedAt).toFixed(0)} ms; ` +
      `${inWindow.length} failed requests in the ejection window (${describeFailures(inWindow)}) of ${traffic.count()}`,
  );
  assert.ok(ejectedAt - killedAt <= EJECTION_WINDOW_MS, "ejected too late");
  assert.equal(outside.length, 0, `failures outside the window: ${describeFailures(outside)}`);
  const view = stack.fleet.instances().find((i) => i.id === victim);
  assert.equal(view?.crashes, 1, "the supervisor did not count one crash");
  assert.ok(
    traffic.outcomes.some((o) => o.at > backAt && o.servedBy === victim && o.status === 200),
    "the restarted instance served no request after rejoining",
  );
  assert.ok(traffic.acknowledged.size > 0);
  assert.deepEqual(
    missingWrites(traffic.acknowledged, await scanUsers(stack.dynamoDbEndpoint)),
    [],
  );
});
