import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { runBench } from "../src/harness.js";
import { formatTable } from "../src/report.js";

const ROWS = [
  "raw",
  "web.home",
  "web.rss.idle",
  "web.rss.load",
  "web.form",
  "store.put",
  "web.create",
  "lb.home",
  "lb.cpu",
  "af.issue",
  "af.verify",
  "keyring.find",
  "redis.traffic",
  "startup.bundle",
  "startup.tsx",
];

function hasRedisServer(): boolean {
  return spawnSync("redis-server", ["--version"]).status === 0 || process.env.CI === "true";
}

test("the benchmark harness runs end to end with 1 s runs and fills every row with a positive figure", {
  timeout: 150_000,
}, async (t) => {
  const report = await runBench({ durationS: 1, warmupS: 0, connections: 10, redisRunS: 1 });
  t.diagnostic(`\n${formatTable(report.rows)}\n${report.elapsedS.toFixed(0)} s`);
  const expected = hasRedisServer() ? ROWS : ROWS.filter((id) => id !== "redis.traffic");
  const errors = hasRedisServer()
    ? report.errors
    : report.errors.filter((e) => !e.startsWith("Redis traffic"));
  assert.deepEqual(errors, []);
  const byId = new Map(report.rows.map((r) => [r.id, r]));
  for (const id of expected) {
    const row = byId.get(id);
    assert.ok(row, `row ${id} is missing`);
    assert.ok(Number.isFinite(row.value) && row.value > 0, `row ${id} has figure ${row.value}`);
  }
  // Ratios are taken against baselines measured in the same run.
  for (const id of ["web.home", "web.form", "web.create", "lb.home"]) {
    const ratio = byId.get(id)?.ratio;
    assert.ok(ratio !== undefined && ratio > 0, `row ${id} has no ratio to its baseline`);
  }
});
