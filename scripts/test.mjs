#!/usr/bin/env node
// Runs every workspace's tests (or the workspaces named on the command line) with node's own
// test runner through tsx. Written by hand because Node 20's `--test` does not expand `**`
// globs nor look for `.ts` files, and one runner keeps the root `npm test` and CodeBuild alike.
//
//   node scripts/test.mjs                 all workspaces
//   node scripts/test.mjs web local       only these
//   TEST_REPORT_DIR=reports node scripts/test.mjs   also write JUnit XML per workspace
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const all = ["web", "local", "deploy", "infra", "bench", "e2e"];
const selected = process.argv.slice(2).length > 0 ? process.argv.slice(2) : all;

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (name.endsWith(".test.ts")) out.push(full);
  }
  return out.sort();
}

let failed = false;
for (const ws of selected) {
  const files = findTests(join(root, ws, "test"));
  if (files.length === 0) {
    console.log(`# ${ws}: no tests`);
    continue;
  }
  console.log(`# ${ws}: ${files.length} test file(s)`);
  const reporters = ["--test-reporter=spec", "--test-reporter-destination=stdout"];
  if (process.env.TEST_REPORT_DIR) {
    // Each workspace runs from its own folder: a relative report dir means the caller's folder.
    const reportDir = resolve(process.env.TEST_REPORT_DIR);
    mkdirSync(reportDir, { recursive: true });
    reporters.push(
      "--test-reporter=junit",
      `--test-reporter-destination=${join(reportDir, `${ws}.xml`)}`,
    );
  }
  const res = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--test",
      "--test-concurrency=1",
      ...reporters,
      ...files.map((f) => relative(join(root, ws), f)),
    ],
    { cwd: join(root, ws), stdio: "inherit", env: process.env },
  );
  if (res.status !== 0) {
    console.error(`# ${ws}: tests failed (exit ${res.status ?? res.signal})`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
