// Runs one lifecycle script the way the CodeDeploy agent (1.8.1) does: in a process group of its
// own, with the environment it is given, `runas` through the user's login shell as `su USER -c`
// would, all of its output kept, stamped, and one bound for everything: the script must exit AND
// close stdout/stderr within its timeout (a background child that keeps them open fails the hook,
// as on EC2). On timeout the group gets SIGTERM, never SIGKILL: what ignores it keeps running.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { basename } from "node:path";
import { createInterface } from "node:readline";

export interface HookRunOptions {
  readonly script: string;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Whole seconds for the script to exit and close its output. */
  readonly timeoutSeconds: number;
  /** appspec `runas`: the user whose shell runs the script. Default: the caller. */
  readonly runas?: string;
  /** The accounts `runas` is looked up in (the instance's /etc/passwd). Default /etc/passwd. */
  readonly passwdFile?: string;
  /** Each output line as it comes. Default: nothing (the lines are still returned). */
  readonly onLine?: (line: string) => void;
}

export interface HookRunResult {
  /** The script's exit code; null when it timed out or was ended by a signal. */
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  /** The script exited but something it started still held stdout or stderr at the timeout. */
  readonly outputHeldOpen: boolean;
  readonly durationMs: number;
  readonly output: readonly string[];
}

interface Account {
  readonly name: string;
  readonly shell: string;
}

function account(user: string, passwdFile: string): Account | undefined {
  if (!existsSync(passwdFile)) return undefined;
  for (const line of readFileSync(passwdFile, "utf8").split("\n")) {
    const fields = line.split(":");
    if (fields[0] === user && fields.length >= 7)
      return { name: user, shell: fields[6] || "/bin/sh" };
  }
  return undefined;
}

/** A path the instance names (/sbin/nologin), as this machine has it (usrmerge: /usr/sbin). */
function hostPath(path: string): string | undefined {
  for (const candidate of [path, `/usr${path}`]) if (existsSync(candidate)) return candidate;
  return undefined;
}

/**
 * The command line `su USER -c SCRIPT` amounts to: the user's shell with `-c SCRIPT`. Becoming
 * another uid needs root and the user on this machine; the accounts that matter need neither: a
 * nologin shell refuses to run anything whoever starts it, and root's scripts work under
 * FLEETLINE_ROOT as any user, so a rehearsal that is not root plays root itself (and says so).
 */
function command(options: HookRunOptions): { argv: string[]; note?: string } | { error: string } {
  if (!options.runas) return { argv: [options.script] };
  const user = options.runas;
  const entry = account(user, options.passwdFile ?? "/etc/passwd");
  if (!entry) return { error: `su: user ${user} does not exist` };
  const shell = hostPath(entry.shell);
  if (!shell) return { error: `su: failed to execute ${entry.shell}: No such file or directory` };
  const nologin = ["nologin", "false"].includes(basename(entry.shell));
  if (nologin || user === userInfo().username) return { argv: [shell, "-c", options.script] };
  const caller = userInfo().username;
  if (user === "root") {
    return {
      argv: [shell, "-c", options.script],
      note: `runas root played by ${caller}: the rehearsal is not root`,
    };
  }
  if (process.getuid?.() === 0) return { argv: ["su", user, "-c", options.script] };
  return {
    error: `cannot run as ${user}: the rehearsal runs as ${caller}, not root`,
  };
}

export async function runHook(options: HookRunOptions): Promise<HookRunResult> {
  const started = Date.now();
  const output: string[] = [];
  const take = (stream: string) => (line: string) => {
    const stamped = `${stream}: ${line}`;
    output.push(stamped);
    options.onLine?.(stamped);
  };
  const cmd = command(options);
  if ("error" in cmd) {
    take("stderr")(cmd.error);
    return {
      exitCode: 1,
      timedOut: false,
      outputHeldOpen: false,
      durationMs: Date.now() - started,
      output,
    };
  }
  if (cmd.note) output.push(`agent: ${cmd.note}`);
  const [file, ...args] = cmd.argv as [string, ...string[]];
  const child = spawn(file, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    // A process group of its own, as the agent's popen3(pgroup: true): the timeout signals it all.
    detached: true,
  });
  createInterface({ input: child.stdout }).on("line", take("stdout"));
  createInterface({ input: child.stderr }).on("line", take("stderr"));
  const outcome = await new Promise<{ code: number | null; exited: boolean; closed: boolean }>(
    (resolve) => {
      let exited = false;
      let code: number | null = null;
      const timer = setTimeout(() => {
        if (child.pid) {
          try {
            process.kill(-child.pid, "SIGTERM");
          } catch {
            // The group is gone already.
          }
        }
        resolve({ code, exited, closed: false });
      }, options.timeoutSeconds * 1000);
      child.on("error", (error) => {
        clearTimeout(timer);
        take("stderr")(`could not run ${options.script}: ${error.message}`);
        resolve({ code: 127, exited: true, closed: true });
      });
      child.on("exit", (c) => {
        exited = true;
        code = c;
      });
      // "close": the process exited and every holder of its stdout and stderr let go.
      child.on("close", (c) => {
        clearTimeout(timer);
        resolve({ code: c, exited: true, closed: true });
      });
    },
  );
  // Once the bound passed nothing more is read: what a leftover child prints is not the hook's.
  if (!outcome.closed) {
    child.stdout.destroy();
    child.stderr.destroy();
  }
  return {
    exitCode: outcome.closed ? outcome.code : null,
    timedOut: !outcome.closed,
    outputHeldOpen: !outcome.closed && outcome.exited,
    durationMs: Date.now() - started,
    output,
  };
}
