// autocannon ships no type declarations; this covers the part of its API the benchmarks use.
declare module "autocannon" {
  export interface AutocannonRequest {
    readonly method?: string;
    readonly path?: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string;
  }

  export interface AutocannonOptions {
    readonly url: string;
    readonly connections?: number;
    /** Seconds. */
    readonly duration?: number;
    readonly pipelining?: number;
    readonly method?: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string;
    readonly requests?: readonly AutocannonRequest[];
    /** Seconds before a request counts as a timeout; default 10. */
    readonly timeout?: number;
  }

  export interface Histogram {
    readonly average: number;
    readonly mean: number;
    readonly total: number;
    readonly p50: number;
    readonly p90: number;
    readonly p99: number;
    readonly max: number;
  }

  export interface AutocannonResult {
    /** Seconds actually run. */
    readonly duration: number;
    readonly errors: number;
    readonly timeouts: number;
    readonly non2xx: number;
    readonly resets: number;
    readonly statusCodeStats: Readonly<Record<string, { readonly count: number }>>;
    /** Milliseconds. */
    readonly latency: Histogram;
    /** Per-second samples; `total` is every completed request. */
    readonly requests: Histogram & { readonly sent: number };
  }

  function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
  export default autocannon;
}
