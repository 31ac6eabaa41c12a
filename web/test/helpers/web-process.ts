import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { resolve } from "node:path";

const WEB_DIR = resolve(import.meta.dirname, "../..");

export interface WebProcess {
  readonly url: string;
  readonly instanceId: string;
  /** Every stdout/stderr line so far (pino JSON lines, mostly). */
  readonly lines: string[];
  readonly child: ChildProcess;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * A real web instance in its own process (as the local stack and EC2 run it), on a free port.
 * Resolves once it logs that it is listening.
 */
export async function startWebProcess(env: Record<string, string>): Promise<WebProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/server.ts"], {
    cwd: WEB_DIR,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: "0",
      LOG_LEVEL: "info",
      AWS_REGION: "us-east-1",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let url: string | undefined;
  const ready = new Promise<string>((resolveReady, reject) => {
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line) continue;
        lines.push(line);
        const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
        if (match?.[1] && !url) {
          url = match[1];
          resolveReady(url);
        }
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) =>
      reject(new Error(`web exited with ${code} before listening:\n${lines.join("\n")}`)),
    );
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    await ready;
  } finally {
    clearTimeout(timer);
  }
  return {
    url: url ?? "",
    instanceId: env.INSTANCE_ID ?? "",
    lines,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
