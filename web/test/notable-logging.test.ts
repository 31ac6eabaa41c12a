import assert from "node:assert/strict";
import { test } from "node:test";
import { FORM_HEADERS, form, startTestApp } from "./helpers/app.js";

// Production's request log (REQUEST_LOG=notable) drops only Fastify's per-request lines for
// ordinary answers: the app's own lines (sign-in refusals, bad session cookies) must still reach
// the log, even when the answer itself is a quiet 3xx.
test("under REQUEST_LOG=notable the app's refusal lines still appear; an ordinary 2xx/3xx adds no request line", async (t) => {
  const app = await startTestApp({ REQUEST_LOG: "notable", SLOW_REQUEST_MS: 60_000 });
  t.after(() => app.close());
  const lines = (msg: string) => app.logs.filter((l) => l.msg === msg);

  const forged = await app.inject({
    url: "/users/new",
    headers: { cookie: `${app.cookie.split("=")[0]}=s1.forged.forged` },
  });
  assert.ok(forged.statusCode >= 300 && forged.statusCode < 400, "sent to sign in");
  assert.equal(lines("session cookie refused").length, 1);

  const page = await app.inject({ url: "/users/new" });
  assert.equal(page.statusCode, 200);
  assert.equal(lines("request completed").length, 0, "no line for an ordinary 2xx or 3xx");

  const anonymousPost = await app.inject({
    method: "POST",
    url: "/users",
    headers: { ...FORM_HEADERS, origin: "http://fleetline.test", cookie: "" },
    payload: form({ firstName: "No", lastName: "Session" }),
  });
  assert.equal(anonymousPost.statusCode, 403);
  assert.equal(lines("refused: not signed in").length, 1);
  const refused = lines("request completed");
  assert.equal(refused.length, 1, "a refusal gets its request line");
  const line = refused[0] ?? {};
  assert.equal((line.res as { statusCode?: number } | undefined)?.statusCode, 403);
  assert.equal(line.level, 30);
});
