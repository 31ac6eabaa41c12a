/** One line of the benchmark table. */
export interface BenchRow {
  /** Stable key, e.g. "web.home". */
  readonly id: string;
  /** What was measured, as printed. */
  readonly name: string;
  /** The main figure; always positive when the benchmark ran. */
  readonly value: number;
  readonly unit: string;
  /** CPU time (user + system) the measured server process spent per request, in µs. */
  readonly cpuUs?: number;
  /** 99th-percentile latency of the run, in ms, where it has one. */
  readonly p99Ms?: number;
  /** The baseline measured in the same run that `ratio` divides by. */
  readonly baseline?: string;
  /** value / baseline value (for latencies and times: the same, so > 1 is slower). */
  readonly ratio?: number;
  /** The goal, as printed, e.g. "≥ 0.5". */
  readonly target?: string;
  /** Whether the target was met; absent when the row has none. */
  readonly met?: boolean;
  /** Anything a reader needs to interpret the figure (failures, counts, how it was run). */
  readonly note?: string;
}

export interface BenchReport {
  readonly startedAt: string;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly platform: string;
  };
  readonly settings: {
    readonly durationS: number;
    readonly warmupS: number;
    readonly connections: number;
    readonly redisRunS: number;
    /** What the web instances ran: the esbuild bundle or web/src through tsx. */
    readonly runtime: "bundle" | "tsx";
    /** Whether GET /users/new was sent a session cookie (--session-cookie). */
    readonly sessionCookie: boolean;
  };
  readonly rows: readonly BenchRow[];
  readonly elapsedS: number;
}

function figure(n: number): string {
  if (n >= 1000) return Math.round(n).toLocaleString("en-US");
  if (n >= 100) return n.toFixed(0);
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** The table as Markdown, so the same text goes to the terminal and into the README. */
export function formatTable(rows: readonly BenchRow[]): string {
  const header = [
    "benchmark",
    "figure",
    "p99",
    "CPU/req",
    "baseline (same run)",
    "ratio",
    "target",
    "met",
  ];
  const lines = rows.map((r) => [
    r.name,
    `${figure(r.value)} ${r.unit}`,
    r.p99Ms !== undefined ? `${figure(r.p99Ms)} ms` : "",
    r.cpuUs !== undefined ? `${r.cpuUs.toFixed(0)} µs` : "",
    r.baseline ?? "",
    r.ratio !== undefined ? r.ratio.toFixed(2) : "",
    r.target ?? "",
    r.met === undefined ? "" : r.met ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const row = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  return [row(header), row(widths.map((w) => "-".repeat(w))), ...lines.map(row)].join("\n");
}

/** The notes under the table, one per row that has one. */
export function formatNotes(rows: readonly BenchRow[]): string {
  return rows
    .filter((r) => r.note)
    .map((r) => `- ${r.name}: ${r.note}`)
    .join("\n");
}
