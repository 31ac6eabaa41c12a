import type { Benchmark } from "../context.js";
import { ratioTo } from "../context.js";
import { runLoad } from "../load.js";
import { cpuPerRequest, cpuTimeMs } from "../processes.js";

/**
 * GET /users/new: a page that issues an anti-forgery token. No cookie is sent, as on a first
 * visit, so every response also mints a session id and sets the cookie: the costlier path.
 */
export const newUserForm: Benchmark = async (ctx) => {
  let cpuStart = 0;
  const load = await runLoad({
    url: `${ctx.web.url}/users/new`,
    durationS: ctx.durationS,
    warmupS: ctx.warmupS,
    connections: ctx.connections,
    onStart: () => {
      cpuStart = cpuTimeMs(ctx.web.pid);
    },
  });
  const cpu = cpuPerRequest(cpuTimeMs(ctx.web.pid) - cpuStart, load.total);
  const vsRaw = ratioTo(ctx, "raw", load.requestsPerSecond);
  return [
    {
      id: "web.form",
      name: "GET /users/new (token + cookie issued)",
      value: load.requestsPerSecond,
      unit: "req/s",
      p99Ms: load.p99Ms,
      ...vsRaw,
      target: "≥ 0.40",
      ...(vsRaw.ratio !== undefined ? { met: vsRaw.ratio >= 0.4 } : {}),
      note: [cpu, load.failed > 0 ? `${load.failed} failed requests` : ""]
        .filter(Boolean)
        .join("; "),
    },
  ];
};
