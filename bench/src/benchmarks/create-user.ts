import type { Benchmark } from "../context.js";
import { ratioTo } from "../context.js";
import { fetchFormSession, formBody } from "../form-session.js";
import { runLoad } from "../load.js";

/**
 * POST /users with a valid token through one instance into dynalite: parse the form, verify the
 * token, validate, a conditional PutItem, 303. One token is reused, as a user resubmitting the
 * same form would; the token carries no one-time state, so every request verifies in full.
 */
export const createUser: Benchmark = async (ctx) => {
  const session = await fetchFormSession(`${ctx.web.url}/users/new`, await ctx.web.signIn());
  const load = await runLoad({
    url: `${ctx.web.url}/users`,
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      cookie: session.cookie,
    },
    body: formBody({ firstName: "Bench", lastName: "Web", _csrf: session.token }),
    okStatuses: [303],
    durationS: ctx.durationS,
    warmupS: ctx.warmupS,
    connections: ctx.connections,
  });
  const vsStore = ratioTo(ctx, "store.put", load.requestsPerSecond);
  const storeP99 = ctx.rows.get("store.put")?.p99Ms;
  const failures =
    load.failed > 0 ? `${load.failed} not 303 (${JSON.stringify(load.statuses)}); ` : "";
  return [
    {
      id: "web.create",
      name: "POST /users (token verified, written to dynalite)",
      value: load.requestsPerSecond,
      unit: "req/s",
      p99Ms: load.p99Ms,
      ...vsStore,
      note: `${failures}${load.total} users created${storeP99 !== undefined ? `; p99 ${load.p99Ms.toFixed(1)} ms vs ${storeP99.toFixed(1)} ms straight to the store` : ""}`,
    },
  ];
};
