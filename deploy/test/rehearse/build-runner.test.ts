import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { collectArtifact } from "../../src/rehearse/artifact.js";
import { runBuildspec } from "../../src/rehearse/build-runner.js";
import { parseBuildspec } from "../../src/rehearse/buildspec.js";
import { patternToRegExp } from "../../src/rehearse/path-patterns.js";
import { tempDir } from "../support.js";

function writeSpec(dir: string, yaml: string) {
  writeFileSync(join(dir, "buildspec.yml"), yaml);
  return parseBuildspec(join(dir, "buildspec.yml"));
}

test("phases share one shell, so cd and exports carry over, and the artifact is collected from base-directory", async (t) => {
  const dir = tempDir(t, "buildspec-ok");
  const spec = writeSpec(
    dir,
    `version: 0.2
env:
  shell: bash
  variables:
    GREETING: hello
phases:
  install:
    commands:
      - export FROM_INSTALL=kept
  build:
    commands:
      - mkdir -p out/deep && cd out
      - echo "$GREETING $FROM_INSTALL" > deep/result.txt
      - echo skipped > ignored.log
artifacts:
  base-directory: out
  files:
    - "**/*.txt"
`,
  );
  const result = await runBuildspec({ buildspec: spec, sourceDir: dir, workDir: dir });
  assert.equal(result.succeeded, true, readFileSync(result.logFile, "utf8"));
  const artifact = collectArtifact(dir, spec.artifacts, join(dir, "artifact"));
  assert.deepEqual(artifact.files, ["deep/result.txt"]);
  assert.equal(readFileSync(join(dir, "artifact", "deep", "result.txt"), "utf8"), "hello kept\n");
});

test("a failing build command ends its phase, post_build still runs and sees CODEBUILD_BUILD_SUCCEEDING=0", async (t) => {
  const dir = tempDir(t, "buildspec-fail");
  const spec = writeSpec(
    dir,
    `version: 0.2
phases:
  pre_build:
    commands:
      - "true"
  build:
    commands:
      - echo before
      - exit_code_7() { return 7; }; exit_code_7
      - echo never > never.txt
  post_build:
    commands:
      - echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING" > post.txt
artifacts:
  files:
    - "*.txt"
`,
  );
  const lines: string[] = [];
  const result = await runBuildspec({
    buildspec: spec,
    sourceDir: dir,
    workDir: dir,
    onLine: (l) => lines.push(l),
  });
  assert.equal(result.succeeded, false);
  assert.equal(result.failedPhase, "build");
  assert.equal(result.exitCode, 7);
  assert.match(result.failedCommand ?? "", /exit_code_7/);
  assert.equal(readFileSync(join(dir, "post.txt"), "utf8"), "succeeding=0\n");
  assert.throws(
    () => readFileSync(join(dir, "never.txt")),
    "commands after the failure do not run",
  );
  assert.ok(lines.some((l) => /Command did not exit successfully .* exit status 7/.test(l)));
});

test("artifact patterns follow CodeBuild: ** spans folders, * stays in one", () => {
  assert.ok(patternToRegExp("**/*").test("app/dist/server.mjs"));
  assert.ok(patternToRegExp("**/*").test("appspec.yml"));
  assert.ok(patternToRegExp("*.xml").test("web.xml"));
  assert.equal(patternToRegExp("*.xml").test("sub/web.xml"), false);
  assert.ok(patternToRegExp("hooks/**").test("hooks/lib/common.sh"));
});
