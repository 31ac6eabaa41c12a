import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import pino from "pino";
import { buildApp } from "../src/app.js";
import { createKeyStore, createRedisClient, KeyRing } from "../src/keyring/index.js";
import { FORM_HEADERS, form, formSession, startTestApp, TEST_CONFIG } from "./helpers/app.js";
import { skipWithoutRedis, TEST_REDIS_HOST, TEST_REDIS_PORT } from "./keyring/redis-available.js";

describe("per-instance limits (file or memory key ring)", () => {
  test("state-changing requests over the limit get 429, Retry-After, RateLimit headers, a page, and store nothing", async (t) => {
    const app = await startTestApp({ RATE_LIMIT_WRITE_MAX: 3, RATE_LIMIT_WINDOW_SECONDS: 60 });
    t.after(() => app.close());
    const s = formSession(await app.inject({ url: "/users/new" }), app.cookie);
    const post = (firstName: string) =>
      app.inject({
        method: "POST",
        url: "/users",
        headers: FORM_HEADERS,
        payload: form({ _csrf: s.token, firstName, lastName: "Limited" }),
      });
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await post(`Ok${i}`);
      assert.equal(res.statusCode, 303);
      assert.equal(res.headers["ratelimit-limit"], "3");
      remaining.push(String(res.headers["ratelimit-remaining"]));
    }
    assert.deepEqual(remaining, ["2", "1", "0"]);
    const refused = await post("Over");
    assert.equal(refused.statusCode, 429);
    assert.ok(Number(refused.headers["retry-after"]) >= 1, "Retry-After in seconds");
    assert.equal(refused.headers["ratelimit-remaining"], "0");
    assert.ok(refused.headers["ratelimit-reset"] !== undefined);
    assert.match(refused.body, /Too many requests/);
    assert.match(refused.body, /Nothing was saved/);
    assert.equal(refused.headers["x-served-by"], "test-1");
    assert.match(String(refused.headers["content-security-policy"]), /script-src 'none'/);
    const stored = (await app.users.list(100)).users.filter((u) => u.lastName === "Limited");
    assert.deepEqual(stored.map((u) => u.firstName).sort(), ["Ok0", "Ok1", "Ok2"]);
    // Reading is not limited, and anonymous POSTs are counted too (a flood costs nothing).
    assert.equal((await app.inject({ url: "/users" })).statusCode, 200);
    assert.equal(
      (await app.app.inject({ method: "POST", url: "/users", headers: FORM_HEADERS, payload: "" }))
        .statusCode,
      429,
    );
  });

  test("the client is the address the trusted proxy chain gives, not a header it sends", async (t) => {
    const app = await startTestApp({ RATE_LIMIT_WRITE_MAX: 1, TRUST_PROXY: "127.0.0.1" });
    t.after(() => app.close());
    const postFrom = (remoteAddress: string, forwardedFor: string) =>
      app.inject({
        method: "POST",
        url: "/users",
        remoteAddress,
        headers: { ...FORM_HEADERS, "x-forwarded-for": forwardedFor },
        payload: "",
      });
    // An untrusted peer cycling X-Forwarded-For stays one client.
    assert.notEqual((await postFrom("198.51.100.9", "203.0.113.1")).statusCode, 429);
    assert.equal((await postFrom("198.51.100.9", "203.0.113.2")).statusCode, 429);
    // Behind the trusted proxy, each forwarded client has its own allowance.
    assert.notEqual((await postFrom("127.0.0.1", "203.0.113.10")).statusCode, 429);
    assert.notEqual((await postFrom("127.0.0.1", "203.0.113.11")).statusCode, 429);
    assert.equal((await postFrom("127.0.0.1", "203.0.113.10")).statusCode, 429);
  });

  test("IPv6 clients count by /64, so one host cannot rotate through its addresses", async (t) => {
    const app = await startTestApp({ RATE_LIMIT_WRITE_MAX: 1 });
    t.after(() => app.close());
    const postFrom = (remoteAddress: string) =>
      app.app.inject({
        method: "POST",
        url: "/users",
        remoteAddress,
        headers: FORM_HEADERS,
        payload: "",
      });
    assert.notEqual((await postFrom("2001:db8:1:2::1")).statusCode, 429);
    assert.equal((await postFrom("2001:db8:1:2::ffff")).statusCode, 429, "same /64");
    assert.notEqual((await postFrom("2001:db8:1:3::1")).statusCode, 429, "another /64");
  });

  test("sign-in attempts have their own, smaller allowance", async (t) => {
    const app = await startTestApp({ RATE_LIMIT_SIGN_IN_MAX: 2, RATE_LIMIT_WRITE_MAX: 100 });
    t.after(() => app.close());
    // Signed in already, so each attempt answers at once with a redirect (no provider needed).
    const attempt = () => app.inject({ url: "/auth/sign-in" });
    assert.equal((await attempt()).statusCode, 303);
    assert.equal((await attempt()).statusCode, 303);
    const refused = await attempt();
    assert.equal(refused.statusCode, 429);
    assert.match(refused.body, /Too many sign-in attempts/);
    assert.equal((await app.inject({ url: "/users" })).statusCode, 200, "pages are not limited");
  });
});

describe("fleet-wide limits (Redis key ring)", async () => {
  const skip = await skipWithoutRedis();
  test("two instances on one Redis share one allowance per client", { skip }, async (t) => {
    const prefix = `fleetline-test-${randomBytes(4).toString("hex")}`;
    const logger = pino({ level: "silent" });
    const clients = [0, 1].map(() =>
      createRedisClient({ host: TEST_REDIS_HOST, port: TEST_REDIS_PORT, logger }),
    );
    t.after(async () => {
      const keys = await clients[0]?.keys(`${prefix}:*`);
      if (keys && keys.length > 0) await clients[0]?.del(...keys);
      for (const c of clients) c.disconnect();
    });
    // The limiter is what is under test: anonymous POSTs (refused, but counted) need no session,
    // so each instance can keep its own ring.
    const apps = await Promise.all(
      clients.map(async (redis, i) => {
        const keyRing = await KeyRing.open({
          store: createKeyStore({ kind: "memory", logger }),
          logger,
        });
        const app = await buildApp(
          {
            ...TEST_CONFIG,
            KEYRING_STORE: "redis",
            KEYRING_PREFIX: prefix,
            RATE_LIMIT_WRITE_MAX: 4,
          },
          { users: {} as never, keyRing, instanceId: `web-${i + 1}`, rateLimitRedis: redis },
        );
        t.after(async () => {
          await app.close();
          await keyRing.close();
        });
        return app;
      }),
    );
    const seen: Array<[string, number, string]> = [];
    for (let i = 0; i < 6; i++) {
      const app = apps[i % 2];
      assert.ok(app);
      const res = await app.inject({
        method: "POST",
        url: "/users",
        headers: FORM_HEADERS,
        payload: "",
      });
      seen.push([
        String(res.headers["x-served-by"]),
        res.statusCode,
        String(res.headers["ratelimit-remaining"]),
      ]);
    }
    assert.deepEqual(seen, [
      ["web-1", 403, "3"],
      ["web-2", 403, "2"],
      ["web-1", 403, "1"],
      ["web-2", 403, "0"],
      ["web-1", 429, "0"],
      ["web-2", 429, "0"],
    ]);
    const counters = await clients[0]?.keys(`${prefix}:ratelimit:*`);
    assert.equal(counters?.length, 1, "one counter in Redis for the one client");
  });
});
