import type { Benchmark } from "../context.js";
import { ratioTo } from "../context.js";
import { runLoad } from "../load.js";
import { cpuMicros, cpuPerRequest, cpuTimeMs, logLines, rssBytes } from "../processes.js";

const MIB = 1024 * 1024;

/**
 * GET / on one instance (a full page through the layout, helmet headers, x-served-by), and the
 * instance's resident memory at idle (before) and at its peak during the run.
 */
export const homePage: Benchmark = async (ctx) => {
  const idle = rssBytes(ctx.web.pid);
  let peak = idle;
  let cpuStart = 0;
  let linesStart = 0;
  const load = await runLoad({
    url: `${ctx.web.url}/`,
    durationS: ctx.durationS,
    warmupS: ctx.warmupS,
    connections: ctx.connections,
    onStart: () => {
      cpuStart = cpuTimeMs(ctx.web.pid);
      linesStart = logLines(ctx.web);
    },
    onTick: () => {
      peak = Math.max(peak, rssBytes(ctx.web.pid));
    },
  });
  const cpuMs = cpuTimeMs(ctx.web.pid) - cpuStart;
  const cpu = cpuPerRequest(cpuMs, load.total);
  const cpuUs = cpuMicros(cpuMs, load.total);
  const rawCpu = ctx.rows.get("raw")?.cpuUs;
  const lines = logLines(ctx.web) - linesStart;
  const vsRaw = ratioTo(ctx, "raw", load.requestsPerSecond);
  return [
    {
      id: "web.home",
      name: "GET / (one instance)",
      value: load.requestsPerSecond,
      unit: "req/s",
      p99Ms: load.p99Ms,
      ...(cpuUs !== undefined ? { cpuUs } : {}),
      ...vsRaw,
      target: "≥ 0.50",
      ...(vsRaw.ratio !== undefined ? { met: vsRaw.ratio >= 0.5 } : {}),
      note: [
        cpu,
        rawCpu && cpuUs ? `CPU ratio ${(rawCpu / cpuUs).toFixed(2)} (raw µs / this µs)` : "",
        `${lines.toLocaleString("en-US")} log lines written for ${load.total.toLocaleString("en-US")} requests`,
        load.failed > 0 ? `${load.failed} failed requests` : "",
      ]
        .filter(Boolean)
        .join("; "),
    },
    {
      id: "web.rss.idle",
      name: "RSS per instance, idle",
      value: idle / MIB,
      unit: "MiB",
      note: "after start-up and one request, before any load",
    },
    {
      id: "web.rss.load",
      name: "RSS per instance, under load",
      value: peak / MIB,
      unit: "MiB",
      note: `peak of 100 ms samples during the GET / run (${ctx.connections} connections)`,
    },
  ];
};
