import assert from "node:assert/strict";
import { test } from "node:test";
import { createRedisClient, parseRedisUrl } from "../../src/keyring/redis-client.js";
import { closedPort, recordingLogger } from "./helpers.js";

// These check the options handed to ioredis; the clients point at a closed port, so they
// need no Redis and no TLS server.

test("tls: true with a password configures TLS and AUTH for ElastiCache", async (t) => {
  const port = await closedPort();
  const client = createRedisClient({
    host: "127.0.0.1",
    port,
    tls: true,
    password: "auth-token",
    logger: recordingLogger(),
  });
  t.after(() => client.disconnect());
  assert.deepEqual(client.options.tls, {});
  assert.equal(client.options.password, "auth-token");
  assert.equal(client.options.port, port);
});

test("a rediss:// URL turns TLS on, and an explicit password wins over the URL's", async (t) => {
  const port = await closedPort();
  const client = createRedisClient({
    url: `rediss://:from-url@127.0.0.1:${port}/0`,
    password: "from-config",
    logger: recordingLogger(),
  });
  t.after(() => client.disconnect());
  assert.ok(client.options.tls, "TLS enabled by the rediss scheme");
  assert.equal(client.options.password, "from-config");
});

test("the client bounds every wait: command and connect timeouts, few retries, endless reconnects", async (t) => {
  const client = createRedisClient({ port: await closedPort(), logger: recordingLogger() });
  t.after(() => client.disconnect());
  assert.equal(client.options.commandTimeout, 1000);
  assert.equal(client.options.connectTimeout, 2000);
  assert.equal(client.options.maxRetriesPerRequest, 1);
  const retry = client.options.retryStrategy;
  assert.ok(retry);
  for (const attempt of [1, 5, 50, 5000]) {
    const delay = retry(attempt);
    assert.equal(typeof delay, "number", "never gives up reconnecting");
    assert.ok((delay as number) > 0 && (delay as number) <= 5000);
  }
});

test("connection errors are logged without the password", async (t) => {
  const logger = recordingLogger();
  const client = createRedisClient({
    port: await closedPort(),
    password: "do-not-log-me",
    logger,
    commandTimeoutMs: 200,
  });
  t.after(() => client.disconnect());
  await assert.rejects(client.ping());
  assert.ok(logger.entries.length >= 1);
  assert.doesNotMatch(JSON.stringify(logger.entries), /do-not-log-me/);
});

test("redis URLs yield host, port, user, password, database and TLS; other schemes are refused", () => {
  assert.deepEqual(parseRedisUrl("rediss://app%40x:p%2Fw@cache.example.com:6380/2"), {
    host: "cache.example.com",
    port: 6380,
    username: "app@x",
    password: "p/w",
    db: 2,
    tls: {},
  });
  assert.deepEqual(parseRedisUrl("redis://[::1]:6379"), { host: "::1", port: 6379 });
  assert.throws(() => parseRedisUrl("http://cache:6379"), /redis:\/\/ or rediss:\/\//);
  assert.throws(() => parseRedisUrl("redis://cache/notanumber"), /database number/);
  assert.throws(() => parseRedisUrl("not a url"), /not a valid URL/);
});
