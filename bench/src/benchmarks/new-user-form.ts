import type { Benchmark } from "../context.js";
import { ratioTo } from "../context.js";
import { runLoad } from "../load.js";
import { cpuMicros, cpuPerRequest, cpuTimeMs } from "../processes.js";

/**
 * GET /users/new: a page that issues an anti-forgery token. Without --session-cookie no cookie
 * is sent, as on a first visit, so every response also mints a session id and sets the cookie.
 * Once sign-in lands (branch secure-web) the page needs a signed-in session: pass its cookie,
 * or every answer is a redirect to sign in and the row counts them as failures.
 */
export const newUserForm: Benchmark = async (ctx) => {
  let cpuStart = 0;
  const load = await runLoad({
    url: `${ctx.web.url}/users/new`,
    durationS: ctx.durationS,
    warmupS: ctx.warmupS,
    connections: ctx.connections,
    ...(ctx.sessionCookie ? { headers: { cookie: ctx.sessionCookie } } : {}),
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
      name: ctx.sessionCookie
        ? "GET /users/new (token, session cookie sent)"
        : "GET /users/new (token + cookie issued)",
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
