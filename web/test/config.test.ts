import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";

test("an empty environment gives the documented defaults", () => {
  const c = loadConfig({});
  assert.equal(c.PORT, 5000);
  assert.equal(c.HOST, "127.0.0.1");
  assert.equal(c.USERS_TABLE, "Users");
  assert.equal(c.KEYRING_STORE, "file");
  assert.equal(c.KEEP_ALIVE_TIMEOUT_MS, 65_000, "above the ALB's 60 s idle timeout");
  assert.equal(c.DEBUG_ROUTES, false);
  assert.equal(c.REDIS_TLS, false);
});

test("the EC2 environment file from deploy/CONTRACT.md is accepted", () => {
  const c = loadConfig({
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: "5000",
    AWS_REGION: "eu-west-3",
    USERS_TABLE: "fleetline-prod-Users",
    KEYRING_STORE: "redis",
    REDIS_ADDRESS_PARAMETER: "/fleetline/prod/CacheAddress",
    REDIS_TLS: "true",
    REDIS_AUTH_SECRET_ID: "arn:aws:secretsmanager:eu-west-3:123456789012:secret:cache-auth",
    TRUST_PROXY: "127.0.0.1,10.50.0.0/16",
    LOG_DIR: "/var/log/fleetline",
  });
  assert.equal(c.REDIS_TLS, true);
  assert.equal(c.KEYRING_STORE, "redis");
  assert.equal(c.LOG_DIR, "/var/log/fleetline");
  assert.equal(c.REQUEST_LOG, "notable", "no line per 2xx in production: the ALB logs those");
  assert.equal(c.SLOW_REQUEST_MS, 1000);
});

test("every request is logged outside production unless REQUEST_LOG says otherwise", () => {
  assert.equal(loadConfig({}).REQUEST_LOG, "all");
  assert.equal(loadConfig({ NODE_ENV: "production", REQUEST_LOG: "all" }).REQUEST_LOG, "all");
  assert.equal(loadConfig({ REQUEST_LOG: "notable" }).REQUEST_LOG, "notable");
  assert.throws(() => loadConfig({ REQUEST_LOG: "some" }), /REQUEST_LOG/);
});

test("each bad variable is named with what was expected", () => {
  assert.throws(
    () => loadConfig({ PORT: "eighty", KEYRING_STORE: "disk", REDIS_TLS: "maybe" }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /PORT: .*\(got "eighty"\)/);
      assert.match(error.message, /KEYRING_STORE: .*"memory".*\(got "disk"\)/);
      assert.match(error.message, /REDIS_TLS: /);
      return true;
    },
  );
});

test("a redis key ring without an address is refused at start", () => {
  assert.throws(
    () => loadConfig({ KEYRING_STORE: "redis" }),
    /KEYRING_STORE=redis needs REDIS_URL or REDIS_ADDRESS_PARAMETER/,
  );
});

test("secrets are never echoed in the error", () => {
  assert.throws(
    () => loadConfig({ REDIS_URL: "http://not-redis", REDIS_AUTH_TOKEN: "s3cr3t", PORT: "-1" }),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.doesNotMatch(error.message, /s3cr3t/);
      assert.match(error.message, /REDIS_URL: a redis:\/\/ or rediss:\/\/ URL/);
      return true;
    },
  );
});
