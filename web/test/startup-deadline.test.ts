import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import {
  AwsJsonServer,
  type AwsJsonServerOptions,
  type Behaviour,
} from "./helpers/aws-json-server.js";
import { startWebProcess } from "./helpers/web-process.js";
import { testRedisClient } from "./keyring/helpers.js";

// The web reads the cache address (SSM) and its AUTH token (Secrets Manager) before it can
// serve. A stalled AWS endpoint must end the start with a clear error within the deadline, and a
// brief stall must cost one retry, not the start.
const DEADLINE_MS = 2500;
const ATTEMPT_MS = 400;
/** Process spawn through tsx and exit, on a shared 2-core machine. */
const SPAWN_SLACK_MS = 6000;

const PARAMETER = "/fleetline/test/CacheAddress";
const SECRET = "fleetline/test/cache-auth";
const ANSWERS = {
  "AmazonSSM.GetParameter": {
    Parameter: { Name: PARAMETER, Type: "String", Value: "127.0.0.1:6379", Version: 1 },
  },
  "secretsmanager.GetSecretValue": {
    ARN: `arn:aws:secretsmanager:us-east-1:0:secret:${SECRET}`,
    Name: SECRET,
    SecretString: "not-a-real-token",
  },
} as const;

const servers: AwsJsonServer[] = [];
const PREFIX = `fleetline-test-startup-${process.pid}`;
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  // The start that succeeds opens its key ring on the shared Redis: leave nothing behind.
  const redis = testRedisClient();
  try {
    const keys = await redis.keys(`${PREFIX}:*`);
    if (keys.length > 0) await redis.del(...keys);
  } catch {
    // no Redis here: nothing was written either
  } finally {
    redis.disconnect();
  }
});

async function endpoint(script: Behaviour[], extra: Partial<AwsJsonServerOptions> = {}) {
  const server = await AwsJsonServer.start({
    answers: ANSWERS,
    script,
    slowMs: 3 * DEADLINE_MS,
    ...extra,
  });
  servers.push(server);
  return server;
}

/** Starts the web with the key ring on Redis found through SSM (and the token through Secrets Manager). */
async function start(ssm: AwsJsonServer, secrets?: AwsJsonServer) {
  const started = performance.now();
  const env: Record<string, string> = {
    INSTANCE_ID: "startup-1",
    // Fake credentials and local endpoints: never real AWS.
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    DYNAMODB_ENDPOINT: "http://127.0.0.1:9",
    KEYRING_STORE: "redis",
    KEYRING_PREFIX: PREFIX,
    REDIS_ADDRESS_PARAMETER: PARAMETER,
    SSM_ENDPOINT: ssm.url,
    STARTUP_DEADLINE_MS: String(DEADLINE_MS),
    STARTUP_ATTEMPT_TIMEOUT_MS: String(ATTEMPT_MS),
  };
  if (secrets) {
    env.REDIS_AUTH_SECRET_ID = SECRET;
    env.SECRETS_MANAGER_ENDPOINT = secrets.url;
  }
  try {
    const web = await startWebProcess(env);
    return { ok: true as const, web, ms: performance.now() - started };
  } catch (error) {
    return {
      ok: false as const,
      message: (error as Error).message,
      ms: performance.now() - started,
    };
  }
}

describe("start-up reads from SSM and Secrets Manager", () => {
  for (const fault of ["blackhole", "slow", "reset"] as const) {
    test(`SSM that keeps failing (${fault}) ends the start with a clear error within the deadline`, async (t) => {
      const ssm = await endpoint([fault]);
      const result = await start(ssm);
      assert.equal(result.ok, false, "the web must not start without its cache address");
      if (result.ok) return;
      t.diagnostic(
        `${fault}: exited after ${result.ms.toFixed(0)} ms, ${ssm.targets.length} attempt(s)`,
      );
      assert.match(result.message, /exited \(1\) before listening/);
      assert.match(
        result.message,
        new RegExp(
          `fleetline web failed to start: could not read SSM parameter ${PARAMETER} at http://127\\.0\\.0\\.1:\\d+: `,
        ),
      );
      // Either every attempt failed before the deadline, or the deadline cut the last one short.
      assert.match(
        result.message,
        /(no answer within the start-up deadline|: \w+: .*\(after \d+ ms, [2-9] attempt\(s\)\)$)/m,
      );
      assert.doesNotMatch(result.message, /^\s+at /m, "a clear message, not a stack trace");
      assert.ok(ssm.targets.length >= 2, "the read was retried");
      assert.ok(result.ms < DEADLINE_MS + SPAWN_SLACK_MS, `took ${result.ms} ms`);
      // The web's own account of its wait: the bound itself, without process start-up.
      const waited = Number(/(?:after|waited) (\d+) ms/.exec(result.message)?.[1]);
      t.diagnostic(`${fault}: the web gave up after ${waited} ms (deadline ${DEADLINE_MS} ms)`);
      assert.ok(waited <= DEADLINE_MS + 150, `waited ${waited} ms`);
    });
  }

  test("Secrets Manager that never answers ends the start with a clear error naming the secret", async () => {
    const ssm = await endpoint(["answer"]);
    const secrets = await endpoint(["blackhole"]);
    const result = await start(ssm, secrets);
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.match(
      result.message,
      new RegExp(`could not read secret ${SECRET} at http://127\\.0\\.0\\.1:\\d+: `),
    );
    assert.deepEqual([...new Set(secrets.targets)], ["secretsmanager.GetSecretValue"]);
    assert.ok(result.ms < DEADLINE_MS + SPAWN_SLACK_MS, `took ${result.ms} ms`);
  });

  test("a stall that ends within the deadline costs a retry, not the start", async (t) => {
    const ssm = await endpoint(["blackhole", "reset", "answer"]);
    const secrets = await endpoint(["slow", "answer"]);
    const result = await start(ssm, secrets);
    assert.ok(result.ok, result.ok ? "" : result.message);
    if (!result.ok) return;
    t.after(() => result.web.stop());
    assert.deepEqual(ssm.targets, Array(3).fill("AmazonSSM.GetParameter"));
    assert.deepEqual(secrets.targets, Array(2).fill("secretsmanager.GetSecretValue"));
    const home = await fetch(`${result.web.url}/`);
    assert.equal(home.status, 200);
  });
});
