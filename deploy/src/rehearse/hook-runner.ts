// Runs one lifecycle script the way the CodeDeploy agent does: the agent's environment variables,
// the script's own timeout (its process group is killed when it passes), and all of its output
// kept, stamped, for the deployment log and for the failure report.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface HookRunOptions {
  readonly script: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutSeconds: number;
  /** Each output line as it comes. Default: nothing (the lines are still returned). */
  readonly onLine?: (line: string) => void;
}

export interface HookRunResult {
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly durationMs: number;
  readonly output: readonly string[];
}

export async function runHook(options: HookRunOptions): Promise<HookRunResult> {
  const started = Date.now();
  const output: string[] = [];
  const child = spawn(options.script, [], {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    if (child.pid) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }, options.timeoutSeconds * 1000);
  const take = (stream: string) => (line: string) => {
    const stamped = `${stream}: ${line}`;
    output.push(stamped);
    options.onLine?.(stamped);
  };
  createInterface({ input: child.stdout }).on("line", take("stdout"));
  createInterface({ input: child.stderr }).on("line", take("stderr"));
  const exitCode = await new Promise<number | null>((resolve) => {
    child.on("error", (error) => {
      output.push(`agent: could not run ${options.script}: ${error.message}`);
      resolve(127);
    });
    child.on("exit", (code) => {
      // Wait for the pipes to drain, but not for long: a process the script left running in the
      // background may hold them open for good.
      const drained = setTimeout(() => resolve(code), 1000);
      child.on("close", () => {
        clearTimeout(drained);
        resolve(code);
      });
    });
  });
  clearTimeout(timer);
  return {
    exitCode: timedOut ? null : exitCode,
    timedOut,
    durationMs: Date.now() - started,
    output,
  };
}
