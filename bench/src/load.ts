import autocannon, { type AutocannonRequest } from "autocannon";

export interface LoadOptions {
  readonly url: string;
  /** Seconds of measured load. */
  readonly durationS: number;
  /** Seconds of unmeasured load first (JIT, connection set-up, caches). Default 0. */
  readonly warmupS?: number;
  /** Concurrent connections; default 50. */
  readonly connections?: number;
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Requests each connection sends in turn; overrides method, headers and body. */
  readonly requests?: readonly AutocannonRequest[];
  /** Status codes that count as success; default [200]. */
  readonly okStatuses?: readonly number[];
  /** Called once when the measured run starts, after the warm-up. */
  readonly onStart?: () => void;
  /** Called every 100 ms while the measured run goes on (e.g. to sample a process's memory). */
  readonly onTick?: () => void;
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  /** Milliseconds. */
  readonly p99Ms: number;
  readonly p50Ms: number;
  readonly total: number;
  /** Connection errors, timeouts and responses whose status is not in okStatuses. */
  readonly failed: number;
  readonly statuses: Readonly<Record<string, number>>;
}

/** One bounded autocannon run against a server in another process. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const request: AutocannonRequest = {
    method: options.method ?? "GET",
    ...(options.headers ? { headers: options.headers } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
  };
  const base = {
    url: options.url,
    connections: options.connections ?? 50,
    pipelining: 1,
    requests: options.requests ?? [request],
  };
  if ((options.warmupS ?? 0) > 0) await autocannon({ ...base, duration: options.warmupS });
  options.onStart?.();
  const ticker = options.onTick ? setInterval(options.onTick, 100) : undefined;
  let result: Awaited<ReturnType<typeof autocannon>>;
  try {
    result = await autocannon({ ...base, duration: options.durationS });
  } finally {
    clearInterval(ticker);
  }
  const ok = new Set(options.okStatuses ?? [200]);
  const statuses: Record<string, number> = {};
  let badStatus = 0;
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) {
    statuses[code] = count;
    if (!ok.has(Number(code))) badStatus += count;
  }
  return {
    requestsPerSecond: result.requests.total / Math.max(result.duration, 1e-9),
    p99Ms: result.latency.p99,
    p50Ms: result.latency.p50,
    total: result.requests.total,
    failed: result.errors + result.timeouts + badStatus,
    statuses,
  };
}
