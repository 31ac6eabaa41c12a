import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { startEmbeddedDynamoDb } from "@fleetline/local/embedded-dynamodb";
import { freePort } from "@fleetline/local/ports";
import { ensureUsersTable } from "@fleetline/local/users-table";
import { listFiles } from "../../src/rehearse/path-patterns.js";
import { buildArtifact, onCleanup, tempDir } from "../support.js";

async function waitForHealth(
  url: string,
  child: ChildProcess,
  output: () => string,
): Promise<Response> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited ${child.exitCode}:\n${output()}`);
    try {
      return await fetch(url, { signal: AbortSignal.timeout(1000) });
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`no answer from ${url} in 20 s:\n${output()}`);
}

test("the artifact built by the rehearsal starts with plain node in an empty folder without node_modules", {
  timeout: 180_000,
}, async (t) => {
  const work = tempDir(t, "artifact");
  const artifact = await buildArtifact(join(work, "build"));

  const files = listFiles(artifact);
  assert.ok(files.includes("appspec.yml") && files.includes("app/dist/server.mjs"));
  assert.ok(
    files.includes("hooks/lib/common.sh") && files.includes("systemd/fleetline-web.service"),
  );
  assert.ok(files.includes("nginx/fleetline.conf") && files.includes("app/REVISION"));
  assert.equal(
    files.filter((f) => f.includes("node_modules")).length,
    0,
    "no node_modules in the artifact",
  );
  const bytes = files.reduce((sum, f) => sum + statSync(join(artifact, f)).size, 0);
  assert.ok(bytes <= 5 * 1024 * 1024, `artifact is ${bytes} bytes, budget 5 MiB`);

  // Unpacked where no parent folder has node_modules either, as on the instance.
  const unpacked = join(tempDir(t, "unpacked"), "release");
  cpSync(artifact, unpacked, { recursive: true });
  assert.deepEqual(readdirSync(unpacked).sort(), [
    "app",
    "appspec.yml",
    "hooks",
    "nginx",
    "systemd",
  ]);
  assert.equal(existsSync(join(unpacked, "node_modules")), false);

  const db = await startEmbeddedDynamoDb();
  onCleanup(t, () => db.stop());
  await ensureUsersTable({ endpoint: db.endpoint, tableName: "Users", region: "us-east-1" });
  const port = await freePort();
  const child = spawn(process.execPath, [join(unpacked, "app", "dist", "server.mjs")], {
    cwd: unpacked,
    // Only what the environment file would hold: nothing from this test process leaks in.
    env: {
      PORT: String(port),
      HOST: "127.0.0.1",
      INSTANCE_ID: "i-artifact",
      NODE_ENV: "production",
      DYNAMODB_ENDPOINT: db.endpoint,
      KEYRING_STORE: "memory",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => (output += d));
  child.stderr?.on("data", (d: Buffer) => (output += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  onCleanup(t, async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  });

  const health = await waitForHealth(`http://127.0.0.1:${port}/health`, child, () => output);
  assert.equal(health.status, 200);
  assert.equal(health.headers.get("x-served-by"), "i-artifact");
  const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
  assert.equal(ready.status, 200, await ready.text());
  const css = await fetch(`http://127.0.0.1:${port}/static/site.css`);
  assert.equal(css.status, 200, "static assets are served from app/public");

  child.kill("SIGTERM");
  assert.equal(await exited, 0, `graceful shutdown exits 0:\n${output}`);
});
