import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { LocalFleet } from "../../src/rehearse/local-fleet.js";
import { Rehearsal } from "../../src/rehearse/rehearsal.js";
import {
  AGENT_LIFECYCLE,
  buildArtifact,
  onCleanup,
  repoRoot,
  revisionFrom,
  tempDir,
} from "../support.js";

interface AutocannonResult {
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly requests: { readonly total: number };
}

/** autocannon's CLI for `seconds` against `url`; resolves its JSON result. */
function load(url: string, seconds: number): Promise<AutocannonResult> {
  const bin = join(repoRoot, "node_modules", ".bin", "autocannon");
  const child = spawn(bin, ["--json", "--connections", "10", "--duration", String(seconds), url], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (err += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) reject(new Error(`autocannon exited ${code}: ${err}`));
      else resolve(JSON.parse(out) as AutocannonResult);
    });
  });
}

test("a rolling deployment under 10 s of load fails no request and leaves every instance on the new revision", {
  timeout: 240_000,
}, async (t) => {
  const work = tempDir(t, "rolling");
  const artifact = await buildArtifact(join(work, "build"));
  const first = revisionFrom(artifact, join(work, "rev-1"), "revision-1");
  const second = revisionFrom(artifact, join(work, "rev-2"), "revision-2");

  const fleet = await LocalFleet.start({ workDir: join(work, "fleet"), instances: 2 });
  onCleanup(t, () => fleet.close());
  // ValidateService polls every 0.5 s instead of 2 s so the whole update fits in the load.
  const rehearsal = new Rehearsal({ fleet, hookEnv: { FLEETLINE_VALIDATE_DELAY: "0.5" } });

  const initial = await rehearsal.deploy(first);
  assert.equal(initial.succeeded, true, `first deployment: ${initial.failed?.message}`);
  for (const instance of fleet.instances) assert.equal(instance.currentRevision(), "revision-1");
  const pidsBefore = fleet.instances.map((i) => i.mainPid());

  const loadStarted = Date.now();
  const loading = load(`${fleet.url}/`, 10);
  // Let the load reach both instances before the first one is taken out.
  await new Promise((r) => setTimeout(r, 500));
  const update = await rehearsal.deploy(second);
  const updateEndedAfterMs = Date.now() - loadStarted;
  const result = await loading;

  t.diagnostic(
    `${result.requests.total} requests in 10 s; errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}; update took ${update.durationMs} ms`,
  );
  assert.equal(update.succeeded, true, `update: ${update.failed?.event} ${update.failed?.message}`);
  assert.ok(
    updateEndedAfterMs < 10_000,
    `the whole update ran under load (it ended ${updateEndedAfterMs} ms after the load began)`,
  );
  assert.ok(result.requests.total > 1000, `the load ran (${result.requests.total} requests)`);
  assert.equal(result.errors, 0, "connection errors");
  assert.equal(result.timeouts, 0, "timeouts");
  assert.equal(result.non2xx, 0, "non-2xx answers");

  for (const [n, instance] of fleet.instances.entries()) {
    assert.equal(instance.currentRevision(), "revision-2", `${instance.id} REVISION`);
    assert.equal(instance.currentRelease(), update.deploymentId, `${instance.id} current link`);
    assert.equal(
      instance.runningRelease(),
      update.deploymentId,
      `${instance.id} runs the new release`,
    );
    assert.notEqual(instance.mainPid(), pidsBefore[n], `${instance.id} web was restarted`);
  }
  const targets = fleet.loadBalancer.targets();
  assert.deepEqual(targets.map((x) => [x.id, x.state]).sort(), [
    ["i-local-1", "healthy"],
    ["i-local-2", "healthy"],
  ]);
  // Every event ran on every instance, in the agent's order: BlockTraffic (the drain) before
  // ApplicationStop, ValidateService before AllowTraffic. The whole list, so a missing event fails.
  assert.deepEqual(
    update.instances.map((i) => i.instanceId),
    fleet.instances.map((i) => i.id),
  );
  for (const instance of update.instances) {
    assert.deepEqual(
      instance.events.map((e) => `${e.event} ${e.status}`),
      AGENT_LIFECYCLE.map((name) =>
        [
          "BeforeBlockTraffic",
          "AfterBlockTraffic",
          "BeforeAllowTraffic",
          "AfterAllowTraffic",
        ].includes(name)
          ? `${name} Skipped`
          : `${name} Succeeded`,
      ),
      instance.instanceId,
    );
  }
});
