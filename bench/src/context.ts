import type { WebInstance, WebInstanceOptions } from "./processes.js";
import type { BenchRow } from "./report.js";

/** What every benchmark gets from the harness. */
export interface BenchContext {
  /** Seconds of measured load per run. */
  readonly durationS: number;
  /** Seconds of unmeasured load before each run. */
  readonly warmupS: number;
  /** autocannon connections. */
  readonly connections: number;
  /** Seconds of the Redis-traffic run (the issue asks for 10). */
  readonly redisRunS: number;
  /** dynalite (in memory, Users table created) in its own process. */
  readonly dynamodbEndpoint: string;
  /** Key ring directory shared by the instances when there is no redis-server (file store). */
  readonly keyringDir: string;
  /** The key ring's private redis-server (EC2's runs on ElastiCache), or undefined. */
  readonly redisUrl: string | undefined;
  /**
   * Root of the esbuild bundle every web instance runs as the systemd unit does, or undefined
   * to run web/src/server.ts through tsx (when deploy/src/bundle.ts is missing, or --runtime tsx).
   */
  readonly releaseRoot: string | undefined;
  /**
   * A Cookie header for GET /users/new (a signed-in session), or undefined to sign in through
   * each instance's own OpenID provider (WebInstance.signIn).
   */
  readonly sessionCookie: string | undefined;
  /** Settings on top of EC2's for the comparison rows (--compare), or undefined for none. */
  readonly compareEnv: Readonly<Record<string, string>> | undefined;
  /** Starts another instance like the first (same store, bundle and environment). */
  startWeb(
    instanceId: string,
    more?: Partial<Pick<WebInstanceOptions, "extraEnv" | "nodeFlags" | "releaseRoot" | "redisUrl">>,
  ): Promise<WebInstance>;
  /** One web instance as EC2 runs it, started by the harness. */
  readonly web: WebInstance;
  /** Rows measured so far, by id: later rows take their baselines from here. */
  readonly rows: ReadonlyMap<string, BenchRow>;
}

export type Benchmark = (ctx: BenchContext) => Promise<readonly BenchRow[]>;

/** value / baseline, or undefined when the baseline did not run. */
export function ratioTo(
  ctx: BenchContext,
  id: string,
  value: number,
): { baseline?: string; ratio?: number } {
  const base = ctx.rows.get(id);
  if (!base || base.value <= 0) return {};
  return {
    baseline: `${base.name} (${Math.round(base.value)} ${base.unit})`,
    ratio: value / base.value,
  };
}
