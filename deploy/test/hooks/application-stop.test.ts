import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { shimDir } from "../../src/rehearse/local-instance.js";
import { repoRoot, tempDir } from "../support.js";

const stopHook = join(repoRoot, "deploy", "hooks", "application-stop.sh");

function runStop(root: string, path: string) {
  return spawnSync(stopHook, [], {
    encoding: "utf8",
    env: {
      PATH: path,
      FLEETLINE_ROOT: root,
      LIFECYCLE_EVENT: "ApplicationStop",
      DEPLOYMENT_ID: "d-TEST00001",
    },
    timeout: 20_000,
  });
}

test("ApplicationStop exits 0 on a machine where nothing was ever installed", (t) => {
  const root = tempDir(t, "empty-root");
  const res = runStop(root, `${shimDir}:/usr/bin:/bin`);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stderr, /fleetline-web\.service is not installed: nothing to stop/);
  assert.match(
    res.stderr,
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \[ApplicationStop\] /m,
    "timestamped stderr",
  );
  assert.equal(existsSync(join(root, "opt")), false, "stopping must not create anything");
});

test("ApplicationStop exits 0 when there is no systemctl at all", (t) => {
  const root = tempDir(t, "no-systemd");
  const bin = join(root, "bin-without-systemctl");
  mkdirSync(bin);
  // Only what the hook needs besides systemctl; bash's builtins do the rest.
  for (const tool of ["bash", "date", "dirname"])
    symlinkSync(join("/usr/bin", tool), join(bin, tool));
  const res = runStop(root, bin);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stderr, /systemctl not found: nothing to stop/);
});

test("ApplicationStop exits 0 when the unit is installed but not running", (t) => {
  const root = tempDir(t, "stopped-unit");
  mkdirSync(join(root, "etc", "systemd", "system"), { recursive: true });
  cpSync(
    join(repoRoot, "deploy", "systemd", "fleetline-web.service"),
    join(root, "etc", "systemd", "system", "fleetline-web.service"),
  );
  const res = runStop(root, `${shimDir}:/usr/bin:/bin`);
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stderr, /is not running: nothing to stop/);
});
