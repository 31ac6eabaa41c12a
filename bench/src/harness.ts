import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { antiforgery } from "./benchmarks/antiforgery.js";
import { compare } from "./benchmarks/compare.js";
import { createUser } from "./benchmarks/create-user.js";
import { homePage } from "./benchmarks/home-page.js";
import { loadBalanced } from "./benchmarks/load-balanced.js";
import { newUserForm } from "./benchmarks/new-user-form.js";
import { rawHello } from "./benchmarks/raw-hello.js";
import { redisTraffic } from "./benchmarks/redis-traffic.js";
import { sdkPut } from "./benchmarks/sdk-put.js";
import { startup } from "./benchmarks/startup.js";
import type { BenchContext, Benchmark } from "./context.js";
import type { Difference } from "./deployed-web.js";
import {
  REPO_ROOT,
  startDynaliteProcess,
  startRedisServer,
  startWebInstance,
  type WebInstance,
  type WebInstanceOptions,
} from "./processes.js";
import type { BenchReport, BenchRow } from "./report.js";

/** Options of {@link runBench}. */
export interface BenchOptions {
  /** Seconds of measured load per run; default 5. */
  readonly durationS?: number;
  /** Seconds of unmeasured load before each run; default 1. */
  readonly warmupS?: number;
  /** autocannon connections; default 50. */
  readonly connections?: number;
  /** Seconds of the Redis-traffic run; default 10 (what the issue asks for). */
  readonly redisRunS?: number;
  /**
   * What the web instances run: "bundle" (the esbuild artifact, as on EC2; the default when
   * deploy/src/bundle.ts exists) or "tsx" (web/src/server.ts compiled on load, as `npm start`).
   */
  readonly runtime?: "bundle" | "tsx";
  /**
   * Cookie header sent with GET /users/new (a signed-in session); default none: the bench signs
   * in through the instance's own OpenID provider.
   */
  readonly sessionCookie?: string;
  /** Settings on top of EC2's for extra rows beside the deployed ones; default none. */
  readonly compareEnv?: Readonly<Record<string, string>>;
  /** Run only the benchmarks whose labels (as in BENCHMARKS) contain one of these; default all. */
  readonly only?: readonly string[];
  /** Progress lines; default none. */
  readonly log?: (line: string) => void;
}

const BUNDLE_SCRIPT = join(REPO_ROOT, "deploy", "src", "bundle.ts");

/** Baselines first: later rows divide by figures measured earlier in the same run. */
const BENCHMARKS: ReadonlyArray<readonly [string, Benchmark]> = [
  ["raw node:http", rawHello],
  ["GET /", homePage],
  ["GET /users/new", newUserForm],
  ["other configuration", compare],
  ["SDK puts", sdkPut],
  ["POST /users", createUser],
  ["load balancer", loadBalanced],
  ["anti-forgery", antiforgery],
  ["Redis traffic", redisTraffic],
  ["start-up", startup],
];

export interface BenchRun extends BenchReport {
  /** How the measured instances differ from EC2's (bench/src/deployed-web.ts). */
  readonly deployment: readonly Difference[];
  /** The first instance's whole environment. */
  readonly deployedEnv: Readonly<Record<string, string>>;
  /** 1, 5 and 15 minute load averages when the run started (other work on the machine). */
  readonly loadAverage: readonly number[];
  /** Benchmarks that threw, with why; their rows are missing. */
  readonly errors: readonly string[];
}

/** Runs every benchmark once against fresh processes and returns the table's rows. */
export async function runBench(options: BenchOptions = {}): Promise<BenchRun> {
  const started = performance.now();
  const loadAverage = loadavg();
  const log = options.log ?? (() => {});
  const settings = {
    durationS: options.durationS ?? 5,
    warmupS: options.warmupS ?? 1,
    connections: options.connections ?? 50,
    redisRunS: options.redisRunS ?? 10,
  };
  const rows = new Map<string, BenchRow>();
  const errors: string[] = [];
  const keyringDir = mkdtempSync(join(tmpdir(), "fleetline-bench-keys-"));
  const bundleDir = mkdtempSync(join(tmpdir(), "fleetline-bench-bundle-"));
  const runtime = options.runtime ?? (existsSync(BUNDLE_SCRIPT) ? "bundle" : "tsx");
  let web: WebInstance | undefined;
  try {
    let releaseRoot: string | undefined;
    if (runtime === "bundle") {
      log("building the esbuild bundle (deploy/src/bundle.ts)…");
      const { bundle } = await import("@fleetline/deploy/bundle");
      releaseRoot = (await bundle({ outDir: bundleDir })).outDir;
    }
    const redis = await startRedisServer();
    if (typeof redis === "string") log(`${redis}: the key ring uses the file store`);
    const redisUrl = typeof redis === "string" ? undefined : `redis://127.0.0.1:${redis.port}`;
    const dynalite = await startDynaliteProcess();
    const startWeb = (
      instanceId: string,
      more: Partial<
        Pick<WebInstanceOptions, "extraEnv" | "nodeFlags" | "releaseRoot" | "redisUrl">
      > = {},
    ) =>
      startWebInstance({
        instanceId,
        dynamodbEndpoint: dynalite.endpoint,
        keyringDir,
        redisUrl,
        releaseRoot,
        ...more,
      });
    try {
      web = await startWeb("bench-1");
      try {
        // One request so the idle figure includes what serving a page loads.
        await (await fetch(`${web.url}/`)).arrayBuffer();
        const ctx: BenchContext = {
          ...settings,
          dynamodbEndpoint: dynalite.endpoint,
          keyringDir,
          redisUrl,
          releaseRoot,
          sessionCookie: options.sessionCookie,
          compareEnv: options.compareEnv,
          startWeb,
          web,
          rows,
        };
        const selected = BENCHMARKS.filter(
          ([label]) => !options.only || options.only.some((o) => label.includes(o)),
        );
        for (const [label, benchmark] of selected) {
          log(`running ${label}…`);
          try {
            for (const row of await benchmark(ctx)) rows.set(row.id, row);
          } catch (error) {
            const why = error instanceof Error ? error.message : String(error);
            errors.push(`${label}: ${why}`);
            log(`${label} failed: ${why}`);
          }
        }
      } finally {
        await web.stop();
      }
    } finally {
      await dynalite.stop();
      if (typeof redis !== "string") await redis.stop();
    }
  } finally {
    rmSync(keyringDir, { recursive: true, force: true });
    rmSync(bundleDir, { recursive: true, force: true });
  }
  const cpu = cpus();
  return {
    startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
    machine: {
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? "unknown",
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
    },
    settings: { ...settings, runtime, sessionCookie: options.sessionCookie !== undefined },
    deployment: web?.differences ?? [],
    deployedEnv: web?.env ?? {},
    loadAverage,
    rows: [...rows.values()],
    errors,
    elapsedS: (performance.now() - started) / 1000,
  };
}
