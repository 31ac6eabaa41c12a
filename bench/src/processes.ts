// Every server a benchmark measures runs in its own process, so that the load generator (this
// process) never shares an event loop with what it measures.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { startLocalOidcProvider } from "@fleetline/local/oidc-provider";
import { freePort } from "@fleetline/local/ports";
import { stopChild } from "@fleetline/local/processes";
import { type PrivateRedis, startPrivateRedis } from "@fleetline/local/redis-server";
import { signInOverHttp } from "@fleetline/local/sign-in-client";
import { type Difference, deployedWeb } from "./deployed-web.js";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
const SERVERS_DIR = join(REPO_ROOT, "bench", "src", "servers");

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout and stderr lines so far, for error messages. */
  readonly lines: string[];
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit code (null when killed). */
  stop(): Promise<number | null>;
}

/** Every child still running, so none outlives the bench when it is interrupted. */
const running = new Set<ChildProcess>();

/** SIGKILLs every child still running; synchronous, so it also works from an "exit" handler. */
export function killAllChildren(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}
process.once("exit", killAllChildren);

function track(child: ChildProcess): RunningProcess {
  running.add(child);
  child.once("exit", () => running.delete(child));
  const lines: string[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(line);
    if (lines.length > 500) lines.splice(0, lines.length - 500);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  return {
    child,
    pid: child.pid ?? 0,
    lines,
    stop: () => stopChild(child, 5000),
  };
}

/** Resident set size of a process in bytes, from /proc (Linux); 0 where /proc is missing. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Polls `url` until it answers 200; resolves the elapsed ms since `startedAt`. */
export async function waitForOk(
  url: string,
  startedAt: number,
  child: ChildProcess,
  timeoutMs = 20_000,
): Promise<number> {
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `process exited (${child.exitCode ?? child.signalCode}) before ${url} was up`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return performance.now() - startedAt;
    } catch {
      // not listening yet
    }
    if (performance.now() - startedAt > timeoutMs)
      throw new Error(`${url} not up in ${timeoutMs} ms`);
    await delay(5);
  }
}

/** A helper server from bench/src/servers/, which prints one JSON line with its port when ready. */
async function startHelper(
  script: string,
  args: readonly string[] = [],
  nodeFlags: readonly string[] = [],
): Promise<RunningProcess & { readonly port: number }> {
  const entry = ["--import", "tsx", join(SERVERS_DIR, script)];
  const child = spawn(process.execPath, [...nodeFlags, ...entry, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NODE_ENV: "production" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc = track(child);
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} not ready in 20 s`)), 20_000);
    const onData = (chunk: Buffer) => {
      const match = /"ready":true,"port":(\d+)/.exec(chunk.toString("utf8"));
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        resolvePort(Number(match[1]));
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code}:\n${proc.lines.join("\n")}`));
    });
  });
  return { ...proc, port };
}

/** The ceiling: node:http answering "hello world", nothing else. */
export function startRawHello(): Promise<RunningProcess & { readonly port: number }> {
  return startHelper("raw-hello.ts");
}

/** dynalite in memory with the Users table, in its own process. */
export async function startDynaliteProcess(): Promise<
  RunningProcess & { readonly endpoint: string }
> {
  const proc = await startHelper("dynalite-server.ts");
  return { ...proc, endpoint: `http://127.0.0.1:${proc.port}` };
}

/** The local load balancer (local/src/load-balancer.ts) in its own process, targets healthy. */
export async function startLoadBalancerProcess(
  targets: ReadonlyArray<{ readonly id: string; readonly port: number }>,
  nodeFlags: readonly string[] = [],
): Promise<RunningProcess & { readonly port: number }> {
  return startHelper(
    "load-balancer-server.ts",
    targets.map((t) => `${t.id}=${t.port}`),
    nodeFlags,
  );
}

export interface WebInstanceOptions {
  readonly instanceId: string;
  readonly dynamodbEndpoint: string;
  /** The key ring's private redis-server, as EC2's runs on ElastiCache; else the file store. */
  readonly redisUrl?: string | undefined;
  /** The file store's directory when there is no redisUrl. */
  readonly keyringDir: string;
  /**
   * Root of the bundle deploy/src/bundle.ts built (what EC2 runs, started as the systemd unit
   * starts it); undefined to run web/src/server.ts through tsx, same environment otherwise.
   */
  readonly releaseRoot?: string | undefined;
  /** Keys on top of EC2's environment (a second configuration); listed in `differences`. */
  readonly extraEnv?: Readonly<Record<string, string>>;
  /** Extra node flags before the unit's own, e.g. --cpu-prof. */
  readonly nodeFlags?: readonly string[];
}

export interface WebInstance extends RunningProcess {
  readonly port: number;
  readonly url: string;
  /** Process start to the first /health 200, in ms. */
  readonly startupMs: number;
  /** Signs the dev operator in through the instance's OpenID provider; the session cookie. */
  signIn(): Promise<string>;
  /** The instance's LOG_DIR (web.log is there), a fresh directory per instance. */
  readonly logDir: string;
  /** How this instance differs from one on EC2, and why. */
  readonly differences: readonly Difference[];
  /** The environment it was started with (EC2's, with the differences applied). */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * A web instance as fleetline-web.service runs it on EC2: the bundle, from its app/ directory,
 * with the environment file the bootstrap writes (bench/src/deployed-web.ts) — NODE_ENV
 * production, the default log level, logs to a file in LOG_DIR.
 */
export async function startWebInstance(options: WebInstanceOptions): Promise<WebInstance> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // The users pages need a signed-in operator: a real provider, as under `npm start`. Discovery
  // waits for the first sign-in, so start-up figures do not include it.
  const oidc = await startLocalOidcProvider({ webOrigins: [url] });
  const logDir = mkdtempSync(join(tmpdir(), `fleetline-bench-log-${options.instanceId}-`));
  const deployed = deployedWeb({
    port,
    instanceId: options.instanceId,
    logDir,
    dynamodbEndpoint: options.dynamodbEndpoint,
    releaseRoot: options.releaseRoot ?? join(REPO_ROOT, ".fleetline", "no-bundle"),
    keyringDir: options.keyringDir,
    oidc: { issuer: oidc.issuer, clientId: oidc.clientId },
    ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
    ...(options.extraEnv ? { extra: options.extraEnv } : {}),
  });
  const [command, cwd] = options.releaseRoot
    ? [deployed.args, deployed.cwd]
    : [["--import", "tsx", join(REPO_ROOT, "web", "src", "server.ts")], REPO_ROOT];
  const startedAt = performance.now();
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...command], {
    cwd,
    env: deployed.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const proc = track(child);
  let startupMs: number;
  try {
    startupMs = await waitForOk(`${url}/health`, startedAt, child);
  } catch (error) {
    await proc.stop();
    await oidc.stop();
    const log = join(logDir, "web.log");
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n${proc.lines.join("\n")}${existsSync(log) ? `\n${readFileSync(log, "utf8").slice(-4000)}` : ""}`,
    );
  }
  return {
    ...proc,
    async stop() {
      const code = await proc.stop();
      await oidc.stop();
      rmSync(logDir, { recursive: true, force: true });
      return code;
    },
    port,
    url,
    startupMs,
    async signIn() {
      return (await signInOverHttp({ siteUrl: url, ...oidc.operator })).cookie;
    },
    logDir,
    differences: deployed.differences,
    env: deployed.env,
  };
}

/** Lines in an instance's web.log so far (0 when it has none). */
export function logLines(web: WebInstance): number {
  try {
    const text = readFileSync(join(web.logDir, "web.log"), "utf8");
    let n = 0;
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
    return n;
  } catch {
    return 0;
  }
}

/** A private redis-server on a free port (so nobody else's traffic is counted), or why not. */
export async function startRedisServer(): Promise<PrivateRedis | string> {
  try {
    return await startPrivateRedis();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** CPU time (user + system) a process has used, in ms, from /proc (Linux); 0 where missing. */
export function cpuTimeMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces); utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/** µs of CPU per request, or undefined where /proc gave nothing. */
export function cpuMicros(cpuMs: number, requests: number): number | undefined {
  return cpuMs > 0 && requests > 0 ? (cpuMs * 1000) / requests : undefined;
}

/** "74 µs CPU per request" for a run of `requests` during which the process used `cpuMs`. */
export function cpuPerRequest(cpuMs: number, requests: number): string {
  if (cpuMs <= 0 || requests <= 0) return "";
  return `${((cpuMs * 1000) / requests).toFixed(0)} µs of web CPU per request`;
}
