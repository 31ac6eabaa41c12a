import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { lockStateDir, StateDirInUseError } from "../src/state-lock.js";

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "fleetline-lock-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("state directory lock", () => {
  test("a second lock on a held directory names the holder; release frees it", (t) => {
    const dir = tempDir(t);
    const release = lockStateDir(dir);
    assert.equal(readFileSync(join(dir, "fleetline.pid"), "utf8").trim(), String(process.pid));
    assert.throws(
      () => lockStateDir(dir),
      (err: unknown) => err instanceof StateDirInUseError && err.pid === process.pid,
    );
    release();
    assert.equal(existsSync(join(dir, "fleetline.pid")), false);
    lockStateDir(dir)();
  });

  test("a pid file left by a process that is gone is replaced", (t) => {
    const dir = tempDir(t);
    const gone = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], {
      encoding: "utf8",
    });
    writeFileSync(join(dir, "fleetline.pid"), gone.stdout);
    const release = lockStateDir(dir);
    assert.equal(readFileSync(join(dir, "fleetline.pid"), "utf8").trim(), String(process.pid));
    release();
  });
});
