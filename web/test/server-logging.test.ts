// The production logging path, end to end in a real server process: what is logged per request,
// to which one destination, and that a graceful stop (SIGTERM, as systemd sends) loses nothing.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, get } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { freePort } from "@fleetline/local/ports";

const WEB_DIR = resolve(import.meta.dirname, "..");

test("in production a SIGTERM stop writes every notable request line and nothing for 2xx, to LOG_DIR only", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fleetline-logs-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: WEB_DIR,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: String(port),
      INSTANCE_ID: "log-test",
      KEYRING_STORE: "file",
      KEYRING_DIR: join(dir, "keys"),
      // Never reached: no route this test calls touches the table.
      DYNAMODB_ENDPOINT: "http://127.0.0.1:9",
      LOG_DIR: join(dir, "log"),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr.on("data", (c: Buffer) => {
    output += c.toString();
  });
  const exited = once(child, "exit");
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });

  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    assert.ok(child.exitCode === null, `server exited before listening:\n${output}`);
    assert.ok(i < 400, `server not up in 20 s:\n${output}`);
    try {
      const res = await fetch(`${base}/health`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await delay(50);
  }

  // Enough 404s at once that lines are still buffered when SIGTERM lands, on kept-alive
  // connections (the ALB keeps its own open too), interleaved with 2xx pages that log nothing.
  const agent = new Agent({ keepAlive: true, maxSockets: 50 });
  t.after(() => agent.destroy());
  const fetchStatus = (path: string) =>
    new Promise<number>((resolveStatus, reject) => {
      get(`${base}${path}`, { agent }, (res) => {
        res.resume();
        res.once("end", () => resolveStatus(res.statusCode ?? 0));
        res.once("error", reject);
      }).once("error", reject);
    });
  const answered: string[] = [];
  let next = 0;
  let terminated = false;
  const total = 4000;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      // Under /static/, public since sign-in: elsewhere an anonymous GET is sent to sign in (303).
      const path = i % 4 === 0 ? "/" : `/static/missing/${i}`;
      try {
        const status = await fetchStatus(path);
        if (path !== "/") {
          assert.equal(status, 404);
          answered.push(path);
        } else assert.equal(status, 200);
      } catch (error) {
        // Refused or reset once the server stops accepting: not answered, so not expected.
        if (!terminated) throw error;
      }
      if (!terminated && answered.length >= 2000) {
        terminated = true;
        child.kill("SIGTERM");
      }
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
  if (!terminated) child.kill("SIGTERM");
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, output);

  const lines = readFileSync(join(dir, "log", "web.log"), "utf8").split("\n");
  assert.equal(lines.pop(), "", "the file ends with a complete line");
  const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const logged = new Map<string, number>();
  for (const e of entries) {
    const req = e.req as { url?: string } | undefined;
    if (e.msg === "request completed" && req?.url) {
      logged.set(req.url, (logged.get(req.url) ?? 0) + 1);
      assert.equal((e.res as { statusCode?: number }).statusCode, 404);
      assert.equal(e.level, 30, "a 4xx refusal is logged at info");
    }
  }
  assert.ok(answered.length >= 2000, `only ${answered.length} requests were answered`);
  const missing = answered.filter((p) => logged.get(p) !== 1);
  assert.deepEqual(missing.slice(0, 5), [], `${missing.length} answered requests not logged once`);
  assert.equal(logged.has("/"), false, "no line for a 200");
  assert.ok(
    !entries.some((e) => e.msg === "incoming request"),
    "Fastify's own per-request lines are off",
  );
  assert.equal(entries.at(-1)?.msg, "stopped", "the last line is the stop");
  assert.ok(entries.some((e) => e.msg === "fleetline web ready"));
  // One destination: with LOG_DIR set, stdout carries no JSON log lines (journald on EC2).
  assert.equal(
    output.split("\n").filter((l) => l.startsWith("{")).length,
    0,
    `stdout/stderr:\n${output.slice(0, 2000)}`,
  );
});
