import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runHook } from "../../src/rehearse/hook-runner.js";
import { tempDir } from "../support.js";

test("a script that outlives its appspec timeout gets SIGTERM with its children and is reported as timed out", async (t) => {
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
  assert.equal(existsSync(marker), false, "the script's process group was signalled");
});

test("on timeout the agent sends SIGTERM to the script's process group and never SIGKILL", async (t) => {
  const dir = tempDir(t, "hook-term");
  const script = join(dir, "trapping.sh");
  const log = join(dir, "log");
  // The script and a child both trap TERM and go on a little: SIGKILL would leave no trace.
  writeFileSync(
    script,
    [
      "#!/usr/bin/env bash",
      // bash reports a killed foreground child on stderr; that pipe is closed after the timeout.
      "exec >/dev/null 2>&1",
      `(trap 'echo "child got TERM" >> '${log}'; sleep 0.5; echo "child still ran" >> '${log}'; exit 0' TERM; while true; do sleep 0.1; done) >/dev/null 2>&1 &`,
      `trap 'echo "script got TERM" >> '${log}'; sleep 0.5; echo "script still ran" >> '${log}'; exit 0' TERM`,
      "while true; do sleep 0.1; done",
      "",
    ].join("\n"),
  );
  chmodSync(script, 0o755);
  const result = await runHook({
    script,
    cwd: dir,
    env: { PATH: "/usr/bin:/bin" },
    timeoutSeconds: 1,
  });
  assert.equal(result.timedOut, true);
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(readFileSync(log, "utf8").split("\n").filter(Boolean).sort(), [
    "child got TERM",
    "child still ran",
    "script got TERM",
    "script still ran",
  ]);
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

test("runas a user the instance does not have fails as su does, without running the script", async (t) => {
  const dir = tempDir(t, "hook-runas");
  const script = join(dir, "never.sh");
  writeFileSync(script, `#!/usr/bin/env bash\ntouch '${join(dir, "ran")}'\n`);
  chmodSync(script, 0o755);
  writeFileSync(join(dir, "passwd"), "root:x:0:0:root:/root:/bin/bash\n");
  const result = await runHook({
    script,
    cwd: dir,
    env: { PATH: "/usr/bin:/bin" },
    timeoutSeconds: 5,
    runas: "deployer",
    passwdFile: join(dir, "passwd"),
  });
  assert.equal(result.exitCode, 1);
  assert.deepEqual(result.output, ["stderr: su: user deployer does not exist"]);
  assert.equal(existsSync(join(dir, "ran")), false);
});
