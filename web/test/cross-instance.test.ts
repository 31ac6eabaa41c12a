// The original system's failure, reproduced and fixed over real HTTP between real processes:
// the form comes from instance A, the POST goes to instance B.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { createUsersTable, type RunningDynalite, startDynalite } from "./helpers/dynalite.js";
import { startWebProcess, type WebProcess } from "./helpers/web-process.js";
import { skipWithoutRedis } from "./keyring/redis-available.js";

let dynalite: RunningDynalite;
before(async () => {
  dynalite = await startDynalite();
  await createUsersTable(dynalite.endpoint);
});
after(async () => {
  await dynalite.stop();
});

async function startPair(env: Record<string, string>): Promise<[WebProcess, WebProcess]> {
  // Both at once, on an empty store: the case where ASP.NET's ring let each server mint its own key.
  return Promise.all([
    startWebProcess({ ...env, INSTANCE_ID: "web-a", DYNAMODB_ENDPOINT: dynalite.endpoint }),
    startWebProcess({ ...env, INSTANCE_ID: "web-b", DYNAMODB_ENDPOINT: dynalite.endpoint }),
  ]);
}

/** GET the form from A, POST it to B as a browser would (same cookie, same hidden token). */
async function formFromAPostToB(a: WebProcess, b: WebProcess, lastName: string) {
  const get = await fetch(`${a.url}/users/new`);
  assert.equal(get.headers.get("x-served-by"), "web-a");
  const html = await get.text();
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  const cookie = (get.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const keyId = token.split(".")[1] ?? "";
  const post = await fetch(`${b.url}/users`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ _csrf: token, firstName: "Cross", lastName }).toString(),
  });
  assert.equal(post.headers.get("x-served-by"), "web-b");
  return { status: post.status, body: await post.text(), keyId };
}

async function listedOn(instance: WebProcess, lastName: string): Promise<boolean> {
  return (await (await fetch(`${instance.url}/users`)).text()).includes(lastName);
}

describe("form from instance A, POST to instance B", () => {
  test("memory key ring (the original bug): 403 and B logs the unknown key id", async (t) => {
    const [a, b] = await startPair({ KEYRING_STORE: "memory" });
    t.after(async () => {
      await Promise.all([a.stop(), b.stop()]);
    });
    const result = await formFromAPostToB(a, b, "Memory");
    assert.equal(result.status, 403);
    assert.match(result.body, /This form expired or did not come from this site/);
    const logged = await b.waitForLine((l) => l.includes(`unknown-key (key id ${result.keyId})`));
    assert.ok(logged, `B logged the unknown key id ${result.keyId}`);
    assert.equal(await listedOn(a, "Memory"), false, "nothing stored");
  });

  test("file key ring shared on one machine: 303 and the user is stored", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "fleetline-keys-"));
    const [a, b] = await startPair({ KEYRING_STORE: "file", KEYRING_DIR: dir });
    t.after(async () => {
      await Promise.all([a.stop(), b.stop()]);
      rmSync(dir, { recursive: true, force: true });
    });
    const result = await formFromAPostToB(a, b, "FileShared");
    assert.equal(result.status, 303, result.body);
    assert.equal(await listedOn(a, "FileShared"), true);
  });

  test("redis key ring: 303 and the user is stored", async (t) => {
    const skip = await skipWithoutRedis();
    if (skip) {
      t.skip(skip);
      return;
    }
    const prefix = `fleetline-test:cross:${process.pid}:${Date.now()}`;
    const [a, b] = await startPair({
      KEYRING_STORE: "redis",
      REDIS_URL: "redis://127.0.0.1:6379",
      KEYRING_PREFIX: prefix,
    });
    t.after(async () => {
      await Promise.all([a.stop(), b.stop()]);
      const redis = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true });
      await redis.connect();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    });
    const result = await formFromAPostToB(a, b, "RedisShared");
    assert.equal(result.status, 303, result.body);
    assert.equal(await listedOn(a, "RedisShared"), true);
  });

  test("SIGTERM finishes gracefully with exit code 0", async () => {
    const web = await startWebProcess({
      KEYRING_STORE: "memory",
      INSTANCE_ID: "web-stop",
      DYNAMODB_ENDPOINT: dynalite.endpoint,
    });
    assert.equal((await fetch(`${web.url}/health`)).status, 200);
    assert.equal(await web.stop(), 0);
    assert.ok(web.lines.some((l) => l.includes('"msg":"stopped"')));
  });
});
