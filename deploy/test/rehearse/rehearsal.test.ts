// The CodeDeploy service's side of the rehearsal (Rehearsal, runDeployment) on tiny script
// revisions: which revision a rollback redeploys, and to which instances.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { Rehearsal } from "../../src/rehearse/rehearsal.js";
import { scriptRevision, smallFleet, tempDir } from "../support.js";

test("a failed deployment never becomes the last good revision: two failures in a row both roll back to the good one", async (t) => {
  const fleet = await smallFleet(t, 1);
  const dir = tempDir(t, "rehearsal-last-good");
  const rehearsal = new Rehearsal({ fleet, allowTrafficTimeoutMs: 5000 });
  const bad = (label: string) =>
    scriptRevision(join(dir, label), label, { files: { "hooks/ValidateService.sh": "exit 1" } });
  const good = await rehearsal.deploy(scriptRevision(join(dir, "good"), "good"));
  assert.equal(good.succeeded, true, good.failed?.message);
  const first = await rehearsal.deploy(bad("bad-1"));
  const second = await rehearsal.deploy(bad("bad-2"));
  for (const failed of [first, second]) {
    assert.equal(failed.failed?.event, "ValidateService");
    assert.equal(
      failed.rollback?.revision.label,
      "good",
      `${failed.revision.label} rolls back to good`,
    );
    assert.equal(failed.rollback?.succeeded, true, failed.rollback?.failed?.message);
  }
});

test("the rollback goes to the instances the failed deployment reached, and only those", async (t) => {
  const fleet = await smallFleet(t, 3);
  const dir = tempDir(t, "rehearsal-reached");
  const rehearsal = new Rehearsal({ fleet, allowTrafficTimeoutMs: 5000 });
  assert.equal((await rehearsal.deploy(scriptRevision(join(dir, "good"), "good"))).succeeded, true);
  // Passes on i-small-1, fails on i-small-2: i-small-3 is never reached.
  const failsOnSecond = scriptRevision(join(dir, "bad"), "bad", {
    files: { "hooks/ValidateService.sh": '[[ "$FLEETLINE_ROOT" != */i-small-2 ]]' },
  });
  const result = await rehearsal.deploy(failsOnSecond);
  assert.equal(result.failed?.instanceId, "i-small-2");
  assert.deepEqual(
    result.instances.map((i) => i.instanceId),
    ["i-small-1", "i-small-2"],
  );
  assert.deepEqual(
    result.rollback?.instances.map((i) => i.instanceId),
    ["i-small-1", "i-small-2"],
    "the rollback leaves i-small-3 alone",
  );
  assert.equal(result.rollback?.succeeded, true, result.rollback?.failed?.message);
});
