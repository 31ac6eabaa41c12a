import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { startLocalStack } from "../../src/local-stack.js";
import { signInOverHttp } from "../../src/sign-in-client.js";
import { startCluster } from "./support/cluster.js";
import { describeFailures, missingWrites, Traffic } from "./support/traffic.js";

test("a rolling restart of every instance under load fails no request and loses no write", {
  timeout: 120_000,
}, async (t) => {
  const cluster = await startCluster(t, { instances: 2 });
  const traffic = await Traffic.start({
    url: cluster.lbUrl,
    tag: `roll-${Date.now()}`,
    cookie: cluster.cookie,
  });
  t.after(() => traffic.stop());
  await delay(1000);

  const original = [...cluster.instances];
  for (const [i, old] of original.entries()) {
    // Drain: no new requests, in-flight ones finish; then a graceful stop (exit code 0).
    await cluster.lb.deregister(old.id);
    assert.equal(await old.stop(), 0, `${old.id} did not exit cleanly`);
    cluster.instances.splice(cluster.instances.indexOf(old), 1);
    await cluster.addInstance(`web-${i + 1}-restarted`);
    await delay(500);
  }
  await delay(1000);
  await traffic.stop();

  const failures = traffic.failures();
  const servers = new Set(traffic.outcomes.map((o) => o.servedBy));
  t.diagnostic(
    `${traffic.count()} requests (${traffic.count("write")} writes, ${traffic.acknowledged.size} acknowledged) ` +
      `served by ${[...servers].join(", ")}; failures: ${describeFailures(failures)}`,
  );
  assert.equal(failures.length, 0, `failed requests: ${describeFailures(failures)}`);
  for (const i of cluster.instances) assert.ok(servers.has(i.id), `${i.id} never served`);
  const missing = missingWrites(traffic.acknowledged, await cluster.dynamo.scanUsers());
  assert.deepEqual(missing, [], "acknowledged writes missing from the table");
});

test("the local stack's own rolling restart (npm start's code path) fails no request under load", {
  timeout: 120_000,
}, async (t) => {
  const stack = await startLocalStack({
    instances: 2,
    port: 0,
    instancePort: 0,
    inMemory: true,
    loadBalancer: { healthCheckIntervalMs: 500, deregistrationDelayMs: 10_000 },
    webSettings: { LOG_LEVEL: "warn", RATE_LIMIT_WRITE_MAX: 1_000_000 },
  });
  t.after(() => stack.stop());
  const traffic = await Traffic.start({
    url: stack.url,
    tag: `stack-roll-${Date.now()}`,
    cookie: (await signInOverHttp({ siteUrl: stack.url, ...stack.oidc.operator })).cookie,
  });
  t.after(() => traffic.stop());
  await delay(1000);
  await stack.rollingRestart();
  await delay(1000);
  await traffic.stop();

  const failures = traffic.failures();
  t.diagnostic(
    `${traffic.count()} requests (${traffic.acknowledged.size} acknowledged writes) across startLocalStack().rollingRestart(); failures: ${describeFailures(failures)}`,
  );
  assert.equal(failures.length, 0, `failed requests: ${describeFailures(failures)}`);
  assert.ok(traffic.acknowledged.size > 0);
});
