import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { LocalFleet } from "../../src/rehearse/local-fleet.js";
import { Progress } from "../../src/rehearse/progress.js";
import { Rehearsal } from "../../src/rehearse/rehearsal.js";
import {
  brokenRevisionFrom,
  buildArtifact,
  onCleanup,
  pollContinuously,
  revisionFrom,
  tempDir,
} from "../support.js";

test("a revision whose ValidateService fails is rolled back to the last good one while the site keeps serving", {
  timeout: 240_000,
}, async (t) => {
  const work = tempDir(t, "rollback");
  const artifact = await buildArtifact(join(work, "build"));
  const good = revisionFrom(artifact, join(work, "good"), "good-revision");
  const broken = brokenRevisionFrom(artifact, join(work, "broken"), "broken-revision");

  const fleet = await LocalFleet.start({ workDir: join(work, "fleet"), instances: 2 });
  onCleanup(t, () => fleet.close());
  let printed = "";
  const rehearsal = new Rehearsal({
    fleet,
    progress: new Progress({ write: (text) => (printed += text) }),
    // The hooks' own retry, shortened through their FLEETLINE_* seam so the test stays quick.
    hookEnv: { FLEETLINE_VALIDATE_ATTEMPTS: "10", FLEETLINE_VALIDATE_DELAY: "0.5" },
  });
  const installed = await rehearsal.deploy(good);
  assert.equal(installed.succeeded, true, `first deployment: ${installed.failed?.message}`);

  const poller = pollContinuously(`${fleet.url}/`);
  const result = await rehearsal.deploy(broken);
  const served = await poller.stop();

  assert.equal(result.succeeded, false);
  assert.equal(result.failed?.event, "ValidateService");
  assert.equal(result.failed?.instanceId, "i-local-1", "the rollout stops at the first instance");
  assert.deepEqual(
    result.instances.map((i) => i.instanceId),
    ["i-local-1"],
    "the second instance was never touched by the bad revision",
  );
  assert.ok(
    result.failed?.output.some((l) => l.includes("did not answer 200 after 10 attempts")),
    `the hook's clear message is in its output:\n${result.failed?.output.join("\n")}`,
  );
  assert.match(printed, /ValidateService\s+FAILED/);
  assert.match(printed, /script output:/);
  assert.match(printed, /ROLLBACK of d-\w+: redeploying last good revision good-revision/);

  assert.ok(result.rollback, "a rollback deployment followed");
  assert.equal(result.rollback.succeeded, true, `rollback: ${result.rollback.failed?.message}`);
  for (const instance of fleet.instances) {
    assert.equal(
      instance.currentRevision(),
      "good-revision",
      `${instance.id} is back on the good revision`,
    );
    assert.equal(
      instance.runningRelease(),
      instance.currentRelease(),
      `${instance.id} runs what current points at`,
    );
  }
  assert.deepEqual(
    fleet.loadBalancer
      .targets()
      .map((x) => [x.id, x.state])
      .sort(),
    [
      ["i-local-1", "healthy"],
      ["i-local-2", "healthy"],
    ],
  );
  t.diagnostic(`${served.ok} requests answered 200 during the failed deployment and its rollback`);
  assert.ok(served.ok > 20, `the site was polled throughout (${served.ok} answers)`);
  assert.deepEqual(
    served.failed,
    [],
    "no request failed while the bad revision was tried and rolled back",
  );
});
