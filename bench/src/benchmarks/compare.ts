import type { Benchmark } from "../context.js";
import { ratioTo } from "../context.js";
import { runLoad } from "../load.js";
import { cpuMicros, cpuPerRequest, cpuTimeMs, logLines } from "../processes.js";
import type { BenchRow } from "../report.js";

/**
 * GET / and GET /users/new again on an instance with other settings on top of EC2's (`--compare
 * KEY=value,…`), beside the deployed rows and never instead of them: e.g. REQUEST_LOG=all shows
 * what a log line per request costs. No targets: those apply to the deployed configuration.
 */
export const compare: Benchmark = async (ctx) => {
  if (!ctx.compareEnv) return [];
  const label = Object.entries(ctx.compareEnv)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  const web = await ctx.startWeb("bench-compare", { extraEnv: ctx.compareEnv });
  try {
    const rows: BenchRow[] = [];
    for (const [id, path] of [
      ["cmp.home", "/"],
      ["cmp.form", "/users/new"],
    ] as const) {
      let cpuStart = 0;
      let linesStart = 0;
      // The form needs a signed-in operator of this very instance (its own OpenID provider).
      const cookie = path === "/" ? undefined : (ctx.sessionCookie ?? (await web.signIn()));
      const load = await runLoad({
        url: `${web.url}${path}`,
        durationS: ctx.durationS,
        warmupS: ctx.warmupS,
        connections: ctx.connections,
        ...(cookie ? { headers: { cookie } } : {}),
        onStart: () => {
          cpuStart = cpuTimeMs(web.pid);
          linesStart = logLines(web);
        },
      });
      const lines = logLines(web) - linesStart;
      const cpuMs = cpuTimeMs(web.pid) - cpuStart;
      const cpuUs = cpuMicros(cpuMs, load.total);
      rows.push({
        id,
        name: `GET ${path} — other configuration: ${label}`,
        value: load.requestsPerSecond,
        unit: "req/s",
        p99Ms: load.p99Ms,
        ...(cpuUs !== undefined ? { cpuUs } : {}),
        ...ratioTo(ctx, "raw", load.requestsPerSecond),
        note: [
          cpuPerRequest(cpuMs, load.total),
          `${lines.toLocaleString("en-US")} log lines for ${load.total.toLocaleString("en-US")} requests`,
          load.failed > 0 ? `${load.failed} failed requests` : "",
        ]
          .filter(Boolean)
          .join("; "),
      });
    }
    return rows;
  } finally {
    await web.stop();
  }
};
