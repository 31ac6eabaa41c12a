import assert from "node:assert/strict";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runHook } from "../../src/rehearse/hook-runner.js";
import { tempDir } from "../support.js";

test("a script that outlives its appspec timeout is killed with its children and reported as timed out", async (t) => {
  const dir = tempDir(t, "hook-timeout");
  const script = join(dir, "slow.sh");
  const marker = join(dir, "child-survived");
  // The child would write the marker after 3 s if killing the script left it running.
  writeFileSync(
    script,
    `#!/usr/bin/env bash\necho started\n(sleep 3; touch '${marker}') &\nsleep 30\n`,
  );
  chmodSync(script, 0o755);
  const started = Date.now();
  const result = await runHook({
    script,
    cwd: dir,
    env: { PATH: "/usr/bin:/bin" },
    timeoutSeconds: 1,
  });
  assert.equal(result.timedOut, true);
  assert.equal(result.exitCode, null);
  assert.ok(Date.now() - started < 5000, "returned soon after the timeout");
  assert.deepEqual(result.output, ["stdout: started"]);
  await new Promise((r) => setTimeout(r, 3500));
  assert.equal(existsSync(marker), false, "the script's process group was killed");
});

test("a script gets the agent's variables its exit code is reported and both output streams are kept", async (t) => {
  const dir = tempDir(t, "hook-env");
  const script = join(dir, "env.sh");
  writeFileSync(
    script,
    '#!/usr/bin/env bash\necho "$LIFECYCLE_EVENT $DEPLOYMENT_ID"\necho oops >&2\nexit 3\n',
  );
  chmodSync(script, 0o755);
  const result = await runHook({
    script,
    cwd: dir,
    env: { PATH: "/usr/bin:/bin", LIFECYCLE_EVENT: "AfterInstall", DEPLOYMENT_ID: "d-ABCDEFGHI" },
    timeoutSeconds: 10,
  });
  assert.equal(result.timedOut, false);
  assert.equal(result.exitCode, 3);
  assert.ok(result.output.includes("stdout: AfterInstall d-ABCDEFGHI"));
  assert.ok(result.output.includes("stderr: oops"));
});
