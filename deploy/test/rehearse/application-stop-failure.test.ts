import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { LocalFleet } from "../../src/rehearse/local-fleet.js";
import { Rehearsal } from "../../src/rehearse/rehearsal.js";
import { buildArtifact, onCleanup, revisionFrom, tempDir } from "../support.js";

test("a broken ApplicationStop in the running revision blocks the next deployment and its rollback, until failures are ignored", {
  timeout: 180_000,
}, async (t) => {
  const work = tempDir(t, "stop-failure");
  const artifact = await buildArtifact(join(work, "build"));
  // The original's failure mode: a revision whose stop script fails. CodeDeploy runs it on the
  // NEXT deployment, so the revision installs fine and every later one trips over it.
  const badStop = revisionFrom(artifact, join(work, "bad-stop"), "bad-stop-script");
  writeFileSync(
    join(badStop.bundleDir, "hooks", "application-stop.sh"),
    "#!/usr/bin/env bash\nexit 1\n",
  );
  const next = revisionFrom(artifact, join(work, "next"), "next-revision");

  const fleet = await LocalFleet.start({ workDir: join(work, "fleet"), instances: 1 });
  onCleanup(t, () => fleet.close());
  const rehearsal = new Rehearsal({ fleet, hookEnv: { FLEETLINE_VALIDATE_DELAY: "0.5" } });

  assert.equal(
    (await rehearsal.deploy(badStop)).succeeded,
    true,
    "its own first install does not run it",
  );
  const blocked = await rehearsal.deploy(next);
  assert.equal(blocked.succeeded, false);
  assert.equal(blocked.failed?.event, "ApplicationStop");
  assert.equal(
    blocked.rollback?.failed?.event,
    "ApplicationStop",
    "the rollback trips over it too",
  );

  const unblocked = await rehearsal.deploy(next, { ignoreApplicationStopFailures: true });
  assert.equal(
    unblocked.succeeded,
    true,
    `${unblocked.failed?.event}: ${unblocked.failed?.message}`,
  );
  const stop = unblocked.instances[0]?.events.find((e) => e.event === "ApplicationStop");
  assert.match(stop?.message ?? "", /ignored \(--ignore-application-stop-failures\)/);
  const instance = fleet.instances[0];
  assert.equal(instance?.currentRevision(), "next-revision");
  assert.equal(
    instance?.runningRelease(),
    unblocked.deploymentId,
    "the new release is the one running",
  );
  assert.equal(fleet.loadBalancer.targets()[0]?.state, "healthy");
});
