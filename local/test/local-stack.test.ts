import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { skipWithoutRedis, TEST_REDIS_HOST, TEST_REDIS_PORT } from "@fleetline/web/testing/redis";
import { type LocalStack, type LocalStackOptions, startLocalStack } from "../src/local-stack.js";
import { assertPortFree, freePort } from "../src/ports.js";
import { signInOverHttp } from "../src/sign-in-client.js";
import { SiteClient } from "./support/site-client.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const cli = fileURLToPath(new URL("../src/cli.ts", import.meta.url));

/** `count` consecutive free ports (instances take --instance-port, +1, +2…). */
async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const base = await freePort();
    if (base + count > 65535) continue;
    try {
      for (let i = 0; i < count; i += 1) await assertPortFree(base + i, "127.0.0.1", "test");
      return base;
    } catch {}
  }
  throw new Error("no run of free ports");
}

async function stackFor(t: TestContext, options: LocalStackOptions = {}): Promise<LocalStack> {
  const lines: string[] = [];
  const stack = await startLocalStack({
    port: 0,
    instancePort: 0,
    inMemory: true,
    output: (line) => lines.push(line),
    ...options,
  });
  t.after(() => stack.stop());
  outputOf.set(stack, lines);
  return stack;
}

/** What each stack's instances printed, for failure messages. */
const outputOf = new WeakMap<LocalStack, string[]>();

function describeFleet(stack: LocalStack): string {
  const lines = outputOf.get(stack) ?? [];
  return `${JSON.stringify(stack.fleet.instances())}\nlast output:\n${lines.slice(-30).join("\n")}`;
}

/** Pids whose parent is `pid`, from /proc (Linux, where CI runs). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // Field 4 is the parent pid; the command name (field 2) may contain spaces, so split after ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {}
  }
  return out;
}

function webChildren(pid: number | undefined): number[] {
  return childrenOf(pid ?? -1).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, "utf8").includes("web/src/server.ts");
    } catch {
      return false;
    }
  });
}

/** Running, and not merely a zombie waiting for a reaper (on Linux, read from /proc). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return !existsSync("/proc/self");
  }
}

function runCli(t: TestContext, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", cli, ...args], {
    cwd: repoRoot,
    env: { ...process.env, REDIS_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (c: Buffer) => {
    text += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    text += c.toString();
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return { child, output: () => text };
}

async function waitFor(what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(50);
  }
}

describe("local stack with the real web", { timeout: 120_000 }, () => {
  test("npm start comes up healthy, alternates 2 instances, restarts them on SIGHUP, and SIGTERM leaves no process", async (t) => {
    const port = await freePort();
    const instancePort = await freePortRun(2);
    const { child, output } = runCli(t, [
      "--port",
      String(port),
      "--instance-port",
      String(instancePort),
      "--in-memory",
    ]);
    await waitFor("the banner", 60_000, () => output().includes("fleetline is running"));
    assert.match(output(), new RegExp(`site\\s+http://127\\.0\\.0\\.1:${port}`));
    assert.match(output(), /\[web-1\] /, "instance logs are prefixed with the instance id");
    assert.match(output(), /\[web-2\] /);

    const servedBy: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(res.status, 200);
      await res.text();
      servedBy.push(res.headers.get("x-served-by") ?? "");
    }
    // Alternating; which one comes first depends on which instance listened first.
    assert.deepEqual([...new Set(servedBy)].sort(), ["web-1", "web-2"]);
    assert.deepEqual(servedBy, [servedBy[0], servedBy[1], servedBy[0], servedBy[1]]);

    // SIGHUP: a rolling restart through draining gives two new web processes.
    const before = webChildren(child.pid);
    assert.equal(before.length, 2, `two web processes under the CLI, got ${before.join(",")}`);
    child.kill("SIGHUP");
    await waitFor("the rolling restart", 60_000, () => output().includes("rolling restart done"));
    const after = webChildren(child.pid);
    assert.equal(after.length, 2);
    for (const pid of before) assert.equal(after.includes(pid), false, `${pid} was not restarted`);

    // Every child (the web instances, and tsx's esbuild service when it runs) must go.
    const children = childrenOf(child.pid ?? -1);
    const exited = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => resolve(code)),
    );
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    // The supervisor has exited; a child may need a moment to finish its own exit on a busy machine.
    for (const pid of children) {
      await waitFor(`child ${pid} to exit`, 5000, () => !alive(pid)).catch(() =>
        assert.fail(`child ${pid} still running 5 s after the supervisor exited`),
      );
    }
    for (const p of [port, instancePort, instancePort + 1])
      await assertPortFree(p, "127.0.0.1", "x");
    assert.match(output(), /stopped, nothing left running/);
  });

  test("instances stop by themselves when the supervisor is killed outright", async (t) => {
    const port = await freePort();
    const { child, output } = runCli(t, [
      "--port",
      String(port),
      "--instance-port",
      "0",
      "--in-memory",
    ]);
    await waitFor("the banner", 60_000, () => output().includes("fleetline is running"));
    const webs = webChildren(child.pid);
    assert.equal(webs.length, 2);
    child.kill("SIGKILL");
    // No handler runs on SIGKILL: the instances notice their stdin pipe closing and shut down.
    await waitFor("the orphaned instances to exit", 15_000, () => webs.every((pid) => !alive(pid)));
  });

  test("a port in use is a one-line error naming the port and the flag", async (t) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    t.after(() => blocker.close());
    const busy = (blocker.address() as { port: number }).port;

    const lb = runCli(t, ["--port", String(busy), "--in-memory"]);
    const lbCode = await new Promise((resolve) => lb.child.once("exit", resolve));
    assert.equal(lbCode, 1);
    assert.equal(
      lb.output().trim(),
      `fleetline: port ${busy} is already in use; choose another with --port <port>`,
    );

    const free = await freePort();
    const web = runCli(t, ["--port", String(free), "--instance-port", String(busy), "--in-memory"]);
    const webCode = await new Promise((resolve) => web.child.once("exit", resolve));
    assert.equal(webCode, 1);
    assert.equal(
      web.output().trim(),
      `fleetline: port ${busy} is already in use; choose another with --instance-port <port>`,
    );
  });

  test("a crashed instance leaves rotation and comes back after a restart", async (t) => {
    const stack = await stackFor(t, {
      loadBalancer: { healthCheckIntervalMs: 200, healthCheckTimeoutMs: 500 },
    });
    const victim = stack.fleet.instances()[0];
    assert.ok(victim?.pid);
    stack.fleet.signal(victim.id, "SIGKILL");
    await stack.loadBalancer.waitForState(victim.id, "unhealthy", 5000);
    for (let i = 0; i < 3; i += 1) {
      const res = await fetch(`${stack.url}/`);
      await res.text();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-served-by"), "web-2");
    }
    await stack.loadBalancer.waitForHealthy(victim.id, 30_000);
    const after = stack.fleet.instances()[0];
    assert.equal(after?.crashes, 1);
    assert.notEqual(after?.pid, victim.pid, "a new process");
  });

  test("a rolling restart keeps answering every request", async (t) => {
    const stack = await stackFor(t, {
      loadBalancer: { healthCheckIntervalMs: 200, healthCheckTimeoutMs: 500 },
    });
    const pidsBefore = stack.fleet.instances().map((i) => i.pid);
    assert.ok(
      pidsBefore.every((pid) => pid !== undefined),
      `every instance runs before the restart: ${describeFleet(stack)}`,
    );
    const { cookie } = await signInOverHttp({ siteUrl: stack.url, ...stack.oidc.operator });
    let done = false;
    const statuses = new Map<number, number>();
    const load = (async () => {
      while (!done) {
        const res = await fetch(`${stack.url}/users`, { headers: { cookie } });
        await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    })();
    await stack.rollingRestart();
    done = true;
    await load;
    assert.deepEqual([...statuses.keys()], [200], `statuses: ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(200) ?? 0) > 20);
    const pidsAfter = stack.fleet.instances().map((i) => i.pid);
    for (let i = 0; i < pidsBefore.length; i += 1) {
      assert.ok(
        pidsAfter[i] !== undefined,
        `instance ${i + 1} runs after the restart: ${describeFleet(stack)}`,
      );
      assert.notEqual(pidsAfter[i], pidsBefore[i], `instance ${i + 1} is a new process`);
    }
  });

  test("with the Redis key ring a form served by one instance posts to the other", async (t) => {
    const skip = await skipWithoutRedis();
    if (skip) {
      t.skip(skip);
      return;
    }
    const redisUrl = `redis://${TEST_REDIS_HOST}:${TEST_REDIS_PORT}`;
    const stack = await stackFor(t, { keyring: "redis", redisUrl });
    const client = await new SiteClient(stack.url).signIn(stack.oidc.operator);
    const created = await client.createUser("Mary", "Jackson");
    assert.notEqual(created.formServedBy, created.postServedBy, "round robin alternates");
    assert.equal(created.status, 303, created.body);
  });

  test("users survive a restart of the stack with a state directory", async (t) => {
    const stateDir = mkdtempSync(join(tmpdir(), "fleetline-state-"));
    t.after(() => rmSync(stateDir, { recursive: true, force: true }));
    const first = await startLocalStack({ port: 0, instancePort: 0, stateDir });
    try {
      const client = await new SiteClient(first.url).signIn(first.oidc.operator);
      const created = await client.createUser("Grace", "Hopper");
      assert.equal(created.status, 303);
      // dynalite's LevelDB takes one process per directory: a second stack must say so at once.
      await assert.rejects(
        startLocalStack({ port: 0, instancePort: 0, stateDir }),
        new RegExp(`in use by another fleetline \\(pid ${process.pid}\\)`),
      );
    } finally {
      await first.stop();
    }
    const second = await stackFor(t, { stateDir, inMemory: false });
    // The dev operator's password is kept in the state directory: the same one works again.
    assert.deepEqual(second.oidc.operator, first.oidc.operator);
    const client = await new SiteClient(second.url).signIn(second.oidc.operator);
    const list = await client.get("/users");
    assert.equal(list.status, 200);
    assert.match(list.body, /Grace/);
    assert.match(list.body, /Hopper/);
  });
});
