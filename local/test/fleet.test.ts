import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Fleet, type FleetOptions } from "../src/fleet.js";
import type { Logger } from "../src/logger.js";
import { freePort } from "../src/ports.js";
import type { WebCommand } from "../src/web-command.js";

/** A stand-in for the web, run with `node -e`: the fleet's behaviour does not depend on it. */
function script(source: string): WebCommand {
  return { executable: process.execPath, args: ["-e", source], cwd: process.cwd() };
}

interface Recorded {
  readonly level: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

function recordingLogger(): { logger: Logger; entries: Recorded[] } {
  const entries: Recorded[] = [];
  const at =
    (level: string) =>
    (fields: Readonly<Record<string, unknown>>, message: string): void => {
      entries.push({ level, message, fields });
    };
  return {
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
    entries,
  };
}

async function fleetFor(
  t: TestContext,
  options: Partial<FleetOptions> & Pick<FleetOptions, "command">,
) {
  const port = await freePort();
  const fleet = new Fleet({ instances: [{ id: "web-1", port }], env: {}, ...options });
  t.after(() => fleet.stop());
  return fleet;
}

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const crashed = (entries: readonly Recorded[]) =>
  entries.filter((e) => e.message.includes("exited unexpectedly"));

/** Starts the fleet, waits (10 s at most) until it has logged `count` crashes, stops it. */
async function crashesSeen(fleet: Fleet, entries: readonly Recorded[], count: number) {
  fleet.start();
  const deadline = Date.now() + 10_000;
  while (crashed(entries).length < count && Date.now() < deadline) await delay(20);
  await fleet.stop();
  return crashed(entries);
}

describe("Fleet", { timeout: 20_000 }, () => {
  test("restarts a crashing instance with doubling delays up to the maximum", async (t) => {
    const { logger, entries } = recordingLogger();
    const fleet = await fleetFor(t, {
      command: script("process.exit(3)"),
      restartInitialDelayMs: 40,
      restartMaxDelayMs: 200,
      logger,
    });
    const crashes = await crashesSeen(fleet, entries, 6);
    assert.deepEqual(
      crashes.slice(0, 6).map((e) => e.fields.restartInMs),
      [40, 80, 160, 200, 200, 200],
    );
    assert.equal(crashes[0]?.fields.code, 3);
    const after = crashed(entries).length;
    await delay(300);
    assert.equal(crashed(entries).length, after, "no restart after stop()");
    assert.equal(fleet.instances()[0]?.status, "stopped");
  });

  test("an instance that ran longer than stableAfterMs starts its backoff again from the first delay", async (t) => {
    const { logger, entries } = recordingLogger();
    const dir = mkdtempSync(join(tmpdir(), "fleetline-fleet-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // Runs 1–3 and 5–6 crash at once; run 4 stays up 400 ms, past stableAfterMs, then crashes.
    const counter = join(dir, "runs");
    const source = `const fs = require("node:fs"); const f = ${JSON.stringify(counter)};
      const n = (fs.existsSync(f) ? Number(fs.readFileSync(f, "utf8")) : 0) + 1;
      fs.writeFileSync(f, String(n));
      setTimeout(() => process.exit(3), n === 4 ? 400 : 0);`;
    const fleet = await fleetFor(t, {
      command: script(source),
      restartInitialDelayMs: 40,
      restartMaxDelayMs: 1000,
      stableAfterMs: 200,
      logger,
    });
    const crashes = await crashesSeen(fleet, entries, 6);
    assert.deepEqual(
      crashes.slice(0, 6).map((e) => e.fields.restartInMs),
      [40, 80, 160, 40, 80, 160],
    );
  });

  test("passes PORT, INSTANCE_ID and the shared environment, and prefixes output lines", async (t) => {
    const lines: string[] = [];
    const fleet = await fleetFor(t, {
      command: script(
        'console.log(JSON.stringify({level:30,time:0,msg:"ready on " + process.env.PORT}));' +
          'console.error("plain " + process.env.INSTANCE_ID + " " + process.env.SHARED);' +
          "setInterval(() => {}, 1000);",
      ),
      env: { SHARED: "yes" },
      output: (line) => lines.push(line),
    });
    fleet.start();
    const port = fleet.instances()[0]?.port;
    while (lines.length < 2) await delay(20);
    assert.ok(lines.includes(`[web-1] 00:00:00.000 INFO ready on ${port}\n`), lines.join(""));
    assert.ok(lines.includes("[web-1] plain web-1 yes\n"), lines.join(""));
  });

  test("stop() sends SIGTERM and falls back to SIGKILL after the timeout", async (t) => {
    const fleet = await fleetFor(t, {
      command: script(
        'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000);',
      ),
      stopTimeoutMs: 300,
      output: () => {},
    });
    fleet.start();
    const pid = fleet.instances()[0]?.pid;
    assert.ok(alive(pid));
    await delay(300); // let it install its SIGTERM handler
    const started = Date.now();
    await fleet.stop();
    const took = Date.now() - started;
    assert.ok(took >= 280, `stopped after ${took} ms, before the SIGKILL timeout`);
    assert.equal(alive(pid), false);
  });

  test("a deliberate restart is not a crash and gives a new process", async (t) => {
    const fleet = await fleetFor(t, {
      command: script("setInterval(() => {}, 1000);"),
    });
    fleet.start();
    const before = fleet.instances()[0]?.pid;
    await fleet.restart("web-1");
    const after = fleet.instances()[0];
    assert.notEqual(after?.pid, before);
    assert.equal(after?.crashes, 0);
    assert.equal(alive(before), false);
    assert.equal(alive(after?.pid), true);
  });
});
