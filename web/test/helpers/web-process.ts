import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { isRunning, killChild, stopChild } from "@fleetline/local/processes";
import { type WebSettings, webEnv } from "../../src/config.js";

const WEB_DIR = resolve(import.meta.dirname, "../..");
const LISTEN_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const MAX_LINES = 2000;

export interface WebProcess {
  readonly url: string;
  readonly port: number;
  readonly instanceId: string;
  /** stdout/stderr lines so far (pino JSON, mostly), newest last; capped at 2000. */
  readonly lines: string[];
  readonly child: ChildProcess;
  /** True while the process has not exited. */
  alive(): boolean;
  /**
   * The first line so far, or within `timeoutMs` (default 2000), that `match` accepts; undefined
   * if none. The web's logger is asynchronous: a line lands shortly after the response it is about.
   */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string | undefined>;
  /** SIGTERM and the exit code (null if it had to be SIGKILLed after 10 s). */
  stop(): Promise<number | null>;
  /** SIGKILL, no goodbye; resolves when the process is gone. */
  kill(): Promise<void>;
}

/**
 * A real web instance in its own process (as the local stack and EC2 run it), on a free port.
 * Resolves once it logs that it is listening. Used by web's cross-instance tests and by
 * local's fault tests.
 */
export async function startWebProcess(settings: WebSettings): Promise<WebProcess> {
  const env = webEnv({
    NODE_ENV: "test",
    HOST: "127.0.0.1",
    PORT: 0,
    LOG_LEVEL: "info",
    AWS_REGION: "us-east-1",
    ...settings,
  });
  const instanceId = env.INSTANCE_ID ?? "";
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: WEB_DIR,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${instanceId} did not listen within 20 s:\n${lines.join("\n")}`));
    }, LISTEN_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line) continue;
        lines.push(line);
        if (lines.length > MAX_LINES) lines.splice(0, MAX_LINES / 2);
        const match = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
        if (match?.[1]) {
          clearTimeout(timer);
          resolvePort(Number(match[1]));
        }
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${instanceId} exited (${code ?? signal}) before listening:\n${lines.join("\n")}`,
        ),
      );
    });
  });
  const alive = () => isRunning(child);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    instanceId,
    lines,
    child,
    alive,
    async waitForLine(match, timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines.find(match);
        if (found !== undefined || Date.now() > deadline) return found;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop: () => stopChild(child, STOP_TIMEOUT_MS),
    kill: () => killChild(child),
  };
}
