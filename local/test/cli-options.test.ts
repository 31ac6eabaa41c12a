import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseCli, UsageError } from "../src/cli-options.js";

describe("CLI options", () => {
  test("defaults: 2 instances, port 8080, instances from 5001, file key ring, persisted", () => {
    assert.deepEqual(parseCli([], {}), {
      instances: 2,
      port: 8080,
      instancePort: 5001,
      keyring: "file",
      inMemory: false,
      redisUrl: undefined,
    });
  });

  test("REDIS_URL makes redis the default key ring; --keyring still wins", () => {
    const env = { REDIS_URL: "redis://127.0.0.1:6379" };
    assert.equal((parseCli([], env) as { keyring: string }).keyring, "redis");
    assert.equal((parseCli(["--keyring", "memory"], env) as { keyring: string }).keyring, "memory");
  });

  test("reads every flag", () => {
    assert.deepEqual(
      parseCli(
        [
          "--instances",
          "3",
          "--port",
          "9090",
          "--instance-port",
          "6001",
          "--keyring",
          "memory",
          "--in-memory",
        ],
        {},
      ),
      {
        instances: 3,
        port: 9090,
        instancePort: 6001,
        keyring: "memory",
        inMemory: true,
        redisUrl: undefined,
      },
    );
    assert.equal(parseCli(["-h"], {}), "help");
  });

  test("rejects bad values with a message naming the flag", () => {
    assert.throws(() => parseCli(["--instances", "0"], {}), UsageError);
    assert.throws(() => parseCli(["--port", "http"], {}), /--port must be a whole number/);
    assert.throws(
      () => parseCli(["--keyring", "disk"], {}),
      /--keyring must be memory, file or redis/,
    );
    assert.throws(() => parseCli(["--keyring", "redis"], {}), /needs REDIS_URL/);
    assert.throws(() => parseCli(["--nope"], {}), /Unknown option/);
  });
});
