import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { skipWithoutRedis } from "@fleetline/web/testing/redis";
import { Redis } from "ioredis";
import { startLocalStack } from "../src/local-stack.js";
import { signInOverHttp } from "../src/sign-in-client.js";

const REDIS_URL = "redis://127.0.0.1:6379";
const WRITE_MAX = 120; // the web's default per client per minute

test("300 rapid POSTs from one client through the local stack on Redis meet 429s, and the allowance falls across instances", {
  timeout: 120_000,
  // Skips on a laptop without Redis, throws under CI=true: the probe every Redis test shares.
  skip: await skipWithoutRedis(),
}, async (t) => {
  const prefix = `fleetline-test:ratelimit:${randomBytes(4).toString("hex")}`;
  const stack = await startLocalStack({
    port: 0,
    instancePort: 0,
    inMemory: true,
    keyring: "redis",
    redisUrl: REDIS_URL,
    webSettings: { KEYRING_PREFIX: prefix, LOG_LEVEL: "warn" },
  });
  t.after(async () => {
    await stack.stop();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  const { cookie } = await signInOverHttp({ siteUrl: stack.url, ...stack.oidc.operator });
  const form = await fetch(`${stack.url}/users/new`, { headers: { cookie } });
  const token = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
  assert.ok(token);

  const answers: Array<{
    status: number;
    servedBy: string;
    remaining: number;
    retryAfter: string | null;
  }> = [];
  // 300 POSTs, ten at a time, as a script flooding the form would.
  for (let batch = 0; batch < 30; batch++) {
    const results = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const res = await fetch(`${stack.url}/users`, {
          method: "POST",
          redirect: "manual",
          headers: {
            cookie,
            origin: stack.url,
            "content-type": "application/x-www-form-urlencoded",
          },
          body: new URLSearchParams({
            _csrf: token,
            firstName: `Flood${batch}`,
            lastName: `N${i}`,
          }).toString(),
        });
        const body = await res.text();
        if (res.status === 429) assert.match(body, /Too many requests/);
        return {
          status: res.status,
          servedBy: res.headers.get("x-served-by") ?? "",
          remaining: Number(res.headers.get("ratelimit-remaining")),
          retryAfter: res.headers.get("retry-after"),
        };
      }),
    );
    answers.push(...results);
  }

  const accepted = answers.filter((a) => a.status === 303);
  const refused = answers.filter((a) => a.status === 429);
  assert.equal(
    accepted.length + refused.length,
    300,
    JSON.stringify([...new Set(answers.map((a) => a.status))]),
  );
  // One allowance for the whole fleet: two instances did not double it.
  assert.equal(accepted.length, WRITE_MAX, `accepted ${accepted.length}`);
  assert.equal(refused.length, 300 - WRITE_MAX);
  for (const r of refused) {
    assert.ok(Number(r.retryAfter) >= 1, "Retry-After on every 429");
    assert.equal(r.remaining, 0);
  }
  // Both instances answered, and the remaining allowance each reported is one shared count:
  // every value from WRITE_MAX - 1 down to 0 appears once, whichever instance said it.
  const servers = new Set(accepted.map((a) => a.servedBy));
  assert.deepEqual([...servers].sort(), ["web-1", "web-2"]);
  const remaining = accepted.map((a) => a.remaining).sort((x, y) => y - x);
  assert.deepEqual(
    remaining,
    Array.from({ length: WRITE_MAX }, (_, i) => WRITE_MAX - 1 - i),
  );
  const byInstance = (id: string) =>
    accepted.filter((a) => a.servedBy === id).map((a) => a.remaining);
  t.diagnostic(
    `web-1 saw remaining ${byInstance("web-1").slice(0, 5).join(", ")}…; web-2 saw ${byInstance("web-2").slice(0, 5).join(", ")}…`,
  );

  // Nothing was stored for the refused requests.
  const list = await (await fetch(`${stack.url}/users`, { headers: { cookie } })).text();
  const stored = [...list.matchAll(/<td>Flood\d+<\/td>/g)].length;
  assert.ok(stored <= WRITE_MAX, `stored ${stored}`);
});
