import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot, tempDir } from "../support.js";

test("npm run rehearse builds, installs then updates one instance, and prints each event and a summary", {
  timeout: 240_000,
}, async (t) => {
  const work = tempDir(t, "cli");
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(repoRoot, "deploy", "src", "rehearse", "cli.ts"),
      "--skip-checks",
      "--instances",
      "1",
      "--port",
      "0",
      "--work-dir",
      work,
    ],
    { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (out += d));
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  assert.equal(code, 0, out);

  assert.match(out, /build: source copied by (git ls-files|directory walk)/);
  assert.match(out, /build: phase install\n/);
  assert.match(out, /build: Succeeded in [\d.]+ s; artifact .*: \d+ files, [\d.]+ MiB/);
  const deployments = [...out.matchAll(/(d-[A-Z0-9]{9}) deploying revision/g)].map((m) => m[1]);
  assert.equal(deployments.length, 2, "a first install and an update");
  // The first deployment skips ApplicationStop; the update runs the previous revision's.
  assert.match(
    out,
    new RegExp(`${deployments[0]} i-local-1\\s+ApplicationStop\\s+Skipped .*first deployment`),
  );
  assert.match(out, new RegExp(`${deployments[1]} i-local-1\\s+ApplicationStop\\s+Succeeded`));
  assert.match(
    out,
    new RegExp(`${deployments[1]} i-local-1\\s+BlockTraffic\\s+Succeeded .*drained`),
  );
  assert.match(out, /^\[\+\s*[\d.]+s\] /m, "lines carry the elapsed time");
  assert.match(
    out,
    new RegExp(
      `i-local-1  current ${deployments[1]}  running ${deployments[1]} .* load balancer healthy`,
    ),
  );
  assert.match(out, /stopping the fleet/);
});
