import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { test } from "node:test";
import { shimDir } from "../../src/rehearse/local-instance.js";
import { onCleanup, tempDir } from "../support.js";

const systemctl = join(shimDir, "systemctl");

/** An instance root with one unit whose ExecStart is `program` (a bash script body). */
function rootWithUnit(t: TestContext, program: string, unitExtra = ""): string {
  const root = tempDir(t, "shim");
  mkdirSync(join(root, "etc", "systemd", "system"), { recursive: true });
  mkdirSync(join(root, "etc", "demo"), { recursive: true });
  mkdirSync(join(root, "usr", "bin"), { recursive: true });
  mkdirSync(join(root, "srv"), { recursive: true });
  writeFileSync(join(root, "usr", "bin", "demo"), `#!/usr/bin/env bash\n${program}\n`);
  chmodSync(join(root, "usr", "bin", "demo"), 0o755);
  writeFileSync(join(root, "etc", "demo", "env"), "GREETING=hello world\n# a comment\nPORT=1234\n");
  writeFileSync(
    join(root, "etc", "systemd", "system", "demo.service"),
    `[Unit]\nDescription=demo\n\n[Service]\nEnvironmentFile=/etc/demo/env\nWorkingDirectory=/srv\nExecStart=/usr/bin/demo\nKillSignal=SIGTERM\n${unitExtra}`,
  );
  // Whatever a test leaves running is stopped before its folder goes.
  onCleanup(t, () => run(root, "stop", "demo"));
  return root;
}

function run(root: string, ...args: string[]) {
  return spawnSync(systemctl, args, {
    encoding: "utf8",
    env: { PATH: "/usr/bin:/bin", FLEETLINE_ROOT: root, LEAKED: "from the caller" },
    timeout: 20_000,
  });
}

async function waitFor(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in 5 s");
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("start runs ExecStart under the root with only the unit's environment, in its working directory", async (t) => {
  const root = rootWithUnit(t, 'env > "$PWD/seen-env"; pwd > "$PWD/seen-pwd"; exec sleep 60');
  assert.equal(run(root, "start", "demo").status, 0);
  await waitFor(() => existsSync(join(root, "srv", "seen-pwd")));
  assert.equal(readFileSync(join(root, "srv", "seen-pwd"), "utf8").trim(), join(root, "srv"));
  const env = readFileSync(join(root, "srv", "seen-env"), "utf8");
  assert.match(env, /^GREETING=hello world$/m);
  assert.match(env, /^PORT=1234$/m);
  assert.doesNotMatch(env, /LEAKED|FLEETLINE_ROOT/, "the caller's environment does not leak in");
  const active = run(root, "is-active", "demo");
  assert.equal(active.status, 0);
  assert.equal(active.stdout.trim(), "active");
});

test("stop sends SIGTERM and waits for a graceful exit", async (t) => {
  const root = rootWithUnit(
    t,
    "trap 'echo draining >> \"$PWD/log\"; exit 0' TERM; while true; do sleep 0.1; done",
    "TimeoutStopSec=10\n",
  );
  assert.equal(run(root, "start", "demo").status, 0);
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  const stop = run(root, "stop", "demo");
  assert.equal(stop.status, 0, stop.stderr);
  assert.ok(Date.now() - started < 5000, "no need to wait for the timeout");
  assert.equal(readFileSync(join(root, "srv", "log"), "utf8"), "draining\n");
  assert.equal(run(root, "is-active", "demo").status, 3);
});

test("stop kills with SIGKILL what ignores SIGTERM past TimeoutStopSec", async (t) => {
  const root = rootWithUnit(
    t,
    "trap '' TERM; while true; do sleep 0.1; done",
    "TimeoutStopSec=1\n",
  );
  assert.equal(run(root, "start", "demo").status, 0);
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  const stop = run(root, "stop", "demo");
  const took = Date.now() - started;
  assert.equal(stop.status, 0, stop.stderr);
  assert.ok(took >= 900 && took < 5000, `waited the 1 s grace period (${took} ms)`);
  assert.match(stop.stderr, /still running 1 s after SIGTERM; sending SIGKILL/);
  assert.equal(run(root, "is-active", "demo").status, 3);
});

test("a unit that is not installed cannot start and says so, like systemd (exit 5)", (t) => {
  const root = tempDir(t, "shim-missing");
  const res = run(root, "start", "fleetline-web.service");
  assert.equal(res.status, 5);
  assert.match(res.stderr, /Unit fleetline-web\.service not found/);
});
