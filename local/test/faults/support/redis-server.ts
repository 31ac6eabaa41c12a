// A private redis-server on a free port that a test can stop and start again on the same port,
// which the shared Redis on 6379 must never be made to do.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** False when redis-server is installed; otherwise why not (a skip reason; CI=true throws). */
export function skipWithoutRedisServer(): string | false {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (probe.status === 0) return false;
  const why =
    "redis-server is not installed; install it (apt-get install redis-server) to run this test";
  if (process.env.CI === "true") throw new Error(`${why}; CI=true requires it`);
  return why;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Starts redis-server without persistence; stop() and start() keep the port. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child) return;
    const proc = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    proc.stdout?.on("data", (c: Buffer) => {
      output += c.toString("utf8");
    });
    for (let i = 0; i < 200 && !output.includes("Ready to accept connections"); i++) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited:\n${output}`);
      await delay(25);
    }
    if (!output.includes("Ready to accept connections")) {
      proc.kill("SIGKILL");
      throw new Error(`redis-server not ready in 5 s:\n${output}`);
    }
    child = proc;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    async stop() {
      const proc = child;
      child = undefined;
      if (!proc || proc.exitCode !== null) return;
      const exited = once(proc, "exit");
      proc.kill("SIGTERM");
      await exited;
    },
  };
}
