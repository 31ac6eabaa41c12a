import assert from "node:assert/strict";
import { readFileSync, readlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { LocalInstance } from "../../src/rehearse/local-instance.js";
import { tempDir } from "../support.js";

// One Node major runs the fleet, and four files name it: the bootstrap installs it, the unit runs
// it, CodeBuild builds with it, and the rehearsal plays it. A change to one of them alone would
// deploy a unit that starts nothing (or build on a runtime the fleet does not have).
const repoRoot = resolve(import.meta.dirname, "..", "..", "..");
const read = (path: string): string => readFileSync(join(repoRoot, path), "utf8");

function installedMajor(): string {
  const installs = read("infra/lib/instance-bootstrap.sh")
    .split("\n")
    .filter((line) => /\bdnf install\b/.test(line));
  const majors = installs.flatMap((line) =>
    [...line.matchAll(/\bnodejs(\d+)\b/g)].map((m) => m[1]!),
  );
  assert.equal(
    majors.length,
    1,
    `one nodejsNN package in the bootstrap's dnf lines: ${installs.join(" | ")}`,
  );
  return majors[0]!;
}

test("the systemd unit runs the Node binary that the bootstrap's package installs", () => {
  const major = installedMajor();
  const execStart = read("deploy/systemd/fleetline-web.service").match(/^ExecStart=(\S+)/m);
  // AL2023's nodejsNN installs /usr/bin/node-NN; /usr/bin/node is an alternatives link.
  assert.equal(execStart?.[1], `/usr/bin/node-${major}`);
});

test("CodeBuild builds on the Node major the fleet runs", () => {
  const buildspec = parse(read("buildspec.yml")) as {
    phases: { install: { "runtime-versions": Record<string, unknown> } };
  };
  assert.equal(String(buildspec.phases.install["runtime-versions"].nodejs), installedMajor());
});

test("the rehearsal's instance has the unit's Node path, played by the running node", (t) => {
  const execStart = read("deploy/systemd/fleetline-web.service").match(/^ExecStart=(\S+)/m)![1]!;
  const instance = new LocalInstance({ id: "i-node", root: tempDir(t, "node"), port: 5999 });
  instance.bootstrap();
  assert.equal(readlinkSync(join(instance.root, execStart)), process.execPath);
});
