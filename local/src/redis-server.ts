// A private redis-server on a free port, for what must not touch a shared Redis: a test that
// stops and starts its store, a benchmark that counts every command the key ring sends.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { setTimeout as delay } from "node:timers/promises";
import { freePort } from "./ports.js";
import { stopChild } from "./processes.js";

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** The running server's pid (0 while stopped). */
  readonly pid: number;
  /** Stops it (SIGTERM); nothing is kept: it runs without persistence. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

/** False when redis-server can be run here; otherwise why not. */
export function redisServerMissing(): string | false {
  const probe = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (probe.status === 0) return false;
  return "redis-server is not installed (apt-get install redis-server)";
}

/** Starts redis-server without persistence on a free port; resolves once it accepts commands. */
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
    let failure: string | undefined;
    proc.once("error", (err) => {
      failure = `redis-server could not start: ${err.message}`;
    });
    proc.stdout?.on("data", (c: Buffer) => {
      output += c.toString("utf8");
    });
    for (let i = 0; i < 200 && !output.includes("Ready to accept connections"); i++) {
      if (failure) throw new Error(failure);
      if (proc.exitCode !== null) throw new Error(`redis-server exited:\n${output}`);
      await delay(25);
    }
    if (!output.includes("Ready to accept connections")) {
      proc.kill("SIGKILL");
      throw new Error(`redis-server not ready in 5 s:\n${output}`);
    }
    child = proc;
    // Never outlives whoever started it, even when that process is interrupted.
    const killOnExit = () => proc.kill("SIGKILL");
    process.once("exit", killOnExit);
    proc.once("exit", () => process.off("exit", killOnExit));
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid ?? 0;
    },
    start,
    async stop() {
      const proc = child;
      child = undefined;
      if (proc) await stopChild(proc, 5000);
    },
  };
}
