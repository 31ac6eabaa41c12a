import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig, webEnv } from "../src/config.js";

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

test("every wait on a dependency has a bounded default", () => {
  const c = loadConfig({});
  assert.equal(c.REQUEST_DEADLINE_MS, 3000, "below nginx's 30 s read timeout and the ALB's 60 s");
  assert.equal(c.DYNAMODB_ATTEMPT_TIMEOUT_MS, 1000);
  assert.equal(c.DYNAMODB_MAX_ATTEMPTS, 3);
  assert.equal(c.STARTUP_DEADLINE_MS, 15_000, "well inside ValidateService's 20 × 2 s");
  assert.equal(c.REDIS_COMMAND_TIMEOUT_MS, 1000);
  assert.equal(c.MAX_STORE_CALLS_IN_FLIGHT, 100);
  assert.equal(c.MAX_EVENT_LOOP_DELAY_MS, 1000);
});

test("an attempt longer than its deadline, or a deadline of 0, is refused with the reason", () => {
  assert.throws(
    () => loadConfig({ REQUEST_DEADLINE_MS: "500", DYNAMODB_ATTEMPT_TIMEOUT_MS: "2000" }),
    /DYNAMODB_ATTEMPT_TIMEOUT_MS: must not exceed REQUEST_DEADLINE_MS \(500\)/,
  );
  assert.throws(
    () => loadConfig({ STARTUP_DEADLINE_MS: "1000", STARTUP_ATTEMPT_TIMEOUT_MS: "5000" }),
    /STARTUP_ATTEMPT_TIMEOUT_MS: must not exceed STARTUP_DEADLINE_MS/,
  );
  assert.throws(
    () => loadConfig({ REQUEST_DEADLINE_MS: "0" }),
    /REQUEST_DEADLINE_MS: .*\(got "0"\)/,
  );
});

test("sign-in settings: PUBLIC_ORIGIN is a list of origins, and an issuer needs a client and an origin", () => {
  const c = loadConfig({
    OIDC_ISSUER: "https://cognito-idp.eu-west-3.amazonaws.com/eu-west-3_AbC123",
    OIDC_CLIENT_ID: "client",
    PUBLIC_ORIGIN: " https://d111.cloudfront.net , https://fleet.example.com ",
  });
  assert.deepEqual(c.PUBLIC_ORIGIN, ["https://d111.cloudfront.net", "https://fleet.example.com"]);
  assert.equal(c.SESSION_TTL_SECONDS, 8 * 3600);
  assert.equal(c.ANTIFORGERY_TOKEN_TTL_SECONDS, 4 * 3600);
  assert.deepEqual(loadConfig({}).PUBLIC_ORIGIN, []);
  assert.equal(loadConfig({}).OIDC_ISSUER, undefined, "unset: sign-in closed, not open");

  assert.throws(
    () => loadConfig({ OIDC_ISSUER: "https://issuer.example" }),
    (e: Error) =>
      e instanceof ConfigError &&
      /OIDC_CLIENT_ID/.test(e.message) &&
      /PUBLIC_ORIGIN/.test(e.message),
  );
  for (const bad of ["https://x.example/path", "ftp://x.example", "not a url"]) {
    assert.throws(() => loadConfig({ PUBLIC_ORIGIN: bad }), /PUBLIC_ORIGIN/, bad);
  }
});

test("plain-http issuers are accepted for this machine only", () => {
  const base = { OIDC_CLIENT_ID: "c", PUBLIC_ORIGIN: "http://127.0.0.1:8080" };
  for (const issuer of ["http://127.0.0.1:9000", "http://localhost:9000"]) {
    assert.equal(loadConfig({ ...base, OIDC_ISSUER: issuer }).OIDC_ISSUER, issuer);
  }
  assert.throws(
    () => loadConfig({ ...base, OIDC_ISSUER: "http://idp.example.com" }),
    /OIDC_ISSUER: must be https:\/\//,
  );
});

test("webEnv turns typed settings into the environment the web starts with", () => {
  const env = webEnv({
    PORT: 5001,
    DEBUG_ROUTES: true,
    PUBLIC_ORIGIN: ["http://127.0.0.1:8080", "http://localhost:8080"],
    OIDC_ISSUER: "http://127.0.0.1:9000",
    OIDC_CLIENT_ID: "local",
    LOG_DIR: undefined,
  });
  assert.deepEqual(env, {
    PORT: "5001",
    DEBUG_ROUTES: "true",
    PUBLIC_ORIGIN: "http://127.0.0.1:8080,http://localhost:8080",
    OIDC_ISSUER: "http://127.0.0.1:9000",
    OIDC_CLIENT_ID: "local",
  });
  const config = loadConfig(env);
  assert.equal(config.PORT, 5001);
  assert.deepEqual(config.PUBLIC_ORIGIN, ["http://127.0.0.1:8080", "http://localhost:8080"]);
  // A mistake fails in the caller, naming the setting, instead of in a child's start-up log.
  assert.throws(
    () => webEnv({ PORT: 70_000 }),
    (e: Error) => e instanceof ConfigError && /PORT/.test(e.message),
  );
  assert.throws(() => webEnv({ KEYRING_STORE: "redis" }), /REDIS_URL/);
});
