import assert from "node:assert/strict";
import { test } from "node:test";
import { createRedisClient } from "../../src/keyring/redis-client.js";
import { RedisKeyStore } from "../../src/keyring/redis-store.js";
import { closedPort, recordingLogger, redisPrefix, testRedisClient } from "./helpers.js";
import { skipWithoutRedis, TEST_REDIS_HOST, TEST_REDIS_PORT } from "./redis-available.js";
import { describeKeyStoreContract, key } from "./store-contract.js";

const skip = await skipWithoutRedis();

describeKeyStoreContract("redis", {
  skip,
  corruptible: true,
  setup: async (t, logger) => {
    const prefix = redisPrefix(t);
    return {
      open: () => new RedisKeyStore({ redis: testRedisClient(), prefix, logger }),
      corrupt: async (id) => {
        const redis = testRedisClient();
        try {
          await redis.hset(`${prefix}:keys`, id, "not json at all");
        } finally {
          redis.disconnect();
        }
      },
    };
  },
});

test("the redis store keeps the ring in one hash named after its prefix", { skip }, async (t) => {
  const prefix = redisPrefix(t);
  const store = new RedisKeyStore({ redis: testRedisClient(), prefix, logger: recordingLogger() });
  t.after(() => store.close());
  const k = key();
  await store.add(k);
  const inspect = testRedisClient();
  t.after(() => inspect.disconnect());
  assert.equal(store.hashKey, `${prefix}:keys`);
  assert.deepEqual(await inspect.hkeys(`${prefix}:keys`), [k.id]);
});

test("the redis client connects from a URL and from host and port", { skip }, async (t) => {
  const logger = recordingLogger();
  const fromUrl = createRedisClient({
    url: `redis://${TEST_REDIS_HOST}:${TEST_REDIS_PORT}`,
    logger,
  });
  const fromHost = createRedisClient({ host: TEST_REDIS_HOST, port: TEST_REDIS_PORT, logger });
  t.after(() => {
    fromUrl.disconnect();
    fromHost.disconnect();
  });
  assert.equal(await fromUrl.ping(), "PONG");
  assert.equal(await fromHost.ping(), "PONG");
});

test("a redis store whose server is down fails fast, logs once, and closes without hanging", async () => {
  const logger = recordingLogger();
  const redis = createRedisClient({
    host: TEST_REDIS_HOST,
    port: await closedPort(),
    logger,
    commandTimeoutMs: 300,
  });
  const store = new RedisKeyStore({ redis, prefix: "fleetline-test:down", logger });
  const started = Date.now();
  await assert.rejects(store.load());
  await assert.rejects(store.ping());
  await assert.rejects(store.add(key()));
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  await store.close();
  const errors = logger.entries.filter((e) => e.level === "error");
  assert.equal(errors.length, 1, "one log line per distinct connection error");
  assert.match(String(errors[0]?.obj.err), /ECONNREFUSED/);
});
