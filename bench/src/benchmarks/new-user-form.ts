import type { Benchmark } from "../context.js";
import { ratioTo } from "../context.js";
import { runLoad } from "../load.js";
import { cpuMicros, cpuPerRequest, cpuTimeMs } from "../processes.js";

/**
 * GET /users/new as a signed-in operator: the session cookie is verified (HMAC with the ring's
 * key) and the page issues two anti-forgery tokens (the form's and the sign-out button's). The
 * bench signs in through the instance's OpenID provider unless --session-cookie gives a cookie.
 */
export const newUserForm: Benchmark = async (ctx) => {
  let cpuStart = 0;
  const cookie = ctx.sessionCookie ?? (await ctx.web.signIn());
  const load = await runLoad({
    url: `${ctx.web.url}/users/new`,
    headers: { cookie },
    durationS: ctx.durationS,
    warmupS: ctx.warmupS,
    connections: ctx.connections,
    onStart: () => {
      cpuStart = cpuTimeMs(ctx.web.pid);
    },
  });
  const cpuMs = cpuTimeMs(ctx.web.pid) - cpuStart;
  const cpu = cpuPerRequest(cpuMs, load.total);
  const cpuUs = cpuMicros(cpuMs, load.total);
  const rawCpu = ctx.rows.get("raw")?.cpuUs;
  const vsRaw = ratioTo(ctx, "raw", load.requestsPerSecond);
  return [
    {
      id: "web.form",
      name: "GET /users/new (session verified, tokens issued)",
      value: load.requestsPerSecond,
      unit: "req/s",
      p99Ms: load.p99Ms,
      ...(cpuUs !== undefined ? { cpuUs } : {}),
      ...vsRaw,
      target: "≥ 0.40",
      ...(vsRaw.ratio !== undefined ? { met: vsRaw.ratio >= 0.4 } : {}),
      note: [
        cpu,
        rawCpu && cpuUs ? `CPU ratio ${(rawCpu / cpuUs).toFixed(2)} (raw µs / this µs)` : "",
        load.failed > 0 ? `${load.failed} failed requests` : "",
      ]
        .filter(Boolean)
        .join("; "),
    },
  ];
};
