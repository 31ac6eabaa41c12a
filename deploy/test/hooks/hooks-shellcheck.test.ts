import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../support.js";

const hooksDir = join(repoRoot, "deploy", "hooks");
const scripts = [
  ...readdirSync(hooksDir)
    .filter((f) => f.endsWith(".sh"))
    .map((f) => join(hooksDir, f)),
  join(hooksDir, "lib", "common.sh"),
  // The rehearsal's own shell: it plays systemd and CodeBuild, and must be as careful.
  join(repoRoot, "deploy", "src", "rehearse", "bin", "systemctl"),
  join(repoRoot, "deploy", "src", "rehearse", "bin-build", "npm"),
  join(repoRoot, "deploy", "src", "rehearse", "build-phase.sh"),
];

test("every deploy hook, common.sh and the rehearsal's shims pass shellcheck", {
  timeout: 60_000,
}, () => {
  assert.ok(scripts.length >= 8, `expected the five hooks and helpers, found ${scripts.length}`);
  const res = spawnSync("shellcheck", ["--external-sources", "--severity=style", ...scripts], {
    cwd: hooksDir,
    encoding: "utf8",
  });
  assert.equal(res.error, undefined, `shellcheck could not run: ${res.error?.message}`);
  assert.equal(res.status, 0, `shellcheck findings:\n${res.stdout}${res.stderr}`);
});

test("every hook the appspec names exists, is executable and sets -euo pipefail", () => {
  const appspec = spawnSync(
    "grep",
    ["-o", "hooks/[a-z-]*\\.sh", join(repoRoot, "deploy", "appspec.yml")],
    {
      encoding: "utf8",
    },
  );
  const named = appspec.stdout.split("\n").filter(Boolean);
  assert.deepEqual([...named].sort(), [
    "hooks/after-install.sh",
    "hooks/application-start.sh",
    "hooks/application-stop.sh",
    "hooks/before-install.sh",
    "hooks/validate-service.sh",
  ]);
  for (const hook of named) {
    const file = join(repoRoot, "deploy", hook);
    const check = spawnSync("bash", [
      "-c",
      'test -x "$1" && grep -q "^set -euo pipefail$" "$1"',
      "_",
      file,
    ]);
    assert.equal(check.status, 0, `${hook} must be executable and start with set -euo pipefail`);
  }
});
