import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot, tempDir } from "../support.js";

test("a rehearsal build started inside another rehearsal's build (its tests do) uses the real npm, not the outer shim", {
  timeout: 120_000,
}, async (t) => {
  const work = tempDir(t, "nested");
  // The outer build's npm shim, first on PATH, as the outer build leaves it for its tests.
  const outerShims = join(work, "outer-rehearsal", "bin-build");
  mkdirSync(outerShims, { recursive: true });
  copyFileSync(
    join(repoRoot, "deploy", "src", "rehearse", "bin-build", "npm"),
    join(outerShims, "npm"),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${outerShims}:${process.env.PATH ?? ""}`,
  };
  delete env.REHEARSE_REAL_NPM;
  const script = `
      const { rehearseBuild } = await import(${JSON.stringify(join(repoRoot, "deploy", "src", "rehearse", "rehearse-build.ts"))});
      const r = await rehearseBuild({ repoRoot: ${JSON.stringify(repoRoot)}, workDir: ${JSON.stringify(join(work, "build"))}, checks: false });
      console.log(JSON.stringify({ ok: r.build.succeeded, phase: r.build.failedPhase ?? null, files: r.artifact?.files.length ?? 0 }));
    `;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (out += d));
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  clearTimeout(timer);
  assert.equal(code, 0, out);
  const line = out.trim().split("\n").at(-1) ?? "";
  assert.deepEqual(JSON.parse(line).ok, true, out);
  assert.ok(JSON.parse(line).files > 5, "the artifact was collected");
});
