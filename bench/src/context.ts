import type { WebInstance } from "./processes.js";
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
  /** Key ring directory shared by the instances that use the file store. */
  readonly keyringDir: string;
  /**
   * The esbuild bundle every web instance runs (what EC2 runs), or undefined to run
   * web/src/server.ts through tsx (when deploy/src/bundle.ts is missing, or --runtime tsx).
   */
  readonly bundlePath: string | undefined;
  /** One web instance, file key store, started by the harness. */
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
