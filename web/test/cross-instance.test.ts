// The original system's failure, reproduced and fixed over real HTTP between real processes:
// the form comes from instance A, the POST goes to instance B.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type LocalOidcProvider, startLocalOidcProvider } from "@fleetline/local/oidc-provider";
import { freePort } from "@fleetline/local/ports";
import { signInOverHttp } from "@fleetline/local/sign-in-client";
import { Redis } from "ioredis";
import { UsersRepository } from "../src/users/repository.js";
import { createUsersTable, type RunningDynalite, startDynalite } from "./helpers/dynalite.js";
import { startWebProcess, type WebProcess } from "./helpers/web-process.js";
import { skipWithoutRedis } from "./keyring/redis-available.js";

let dynalite: RunningDynalite;
let provider: LocalOidcProvider;
let aPort: number;
let aOrigin: string;
before(async () => {
  dynalite = await startDynalite();
  await createUsersTable(dynalite.endpoint);
  // The operator signs in on A through a real OpenID provider; the callback is A's.
  aPort = await freePort("127.0.0.1");
  aOrigin = `http://127.0.0.1:${aPort}`;
  provider = await startLocalOidcProvider({ webOrigins: [aOrigin] });
});
after(async () => {
  await provider.stop();
  await dynalite.stop();
});

async function startPair(env: Record<string, string>): Promise<[WebProcess, WebProcess]> {
  const common = {
    ...env,
    DYNAMODB_ENDPOINT: dynalite.endpoint,
    OIDC_ISSUER: provider.issuer,
    OIDC_CLIENT_ID: provider.clientId,
    PUBLIC_ORIGIN: aOrigin,
  };
  // Both at once, on an empty store: the case where ASP.NET's ring let each server mint its own key.
  return Promise.all([
    startWebProcess({ ...common, INSTANCE_ID: "web-a", PORT: String(aPort) }),
    startWebProcess({ ...common, INSTANCE_ID: "web-b" }),
  ]);
}

/** Signs in on A, then GETs the form from A and POSTs it to B as a browser would. */
async function formFromAPostToB(a: WebProcess, b: WebProcess, lastName: string) {
  const { cookie } = await signInOverHttp({
    siteUrl: a.url,
    email: provider.operator.email,
    password: provider.operator.password,
  });
  const get = await fetch(`${a.url}/users/new`, { headers: { cookie } });
  assert.equal(get.status, 200);
  assert.equal(get.headers.get("x-served-by"), "web-a");
  const html = await get.text();
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
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

/** Read from the table directly: the users pages need a session. */
async function stored(lastName: string): Promise<boolean> {
  const users = new UsersRepository({
    tableName: "Users",
    region: "us-east-1",
    endpoint: dynalite.endpoint,
  });
  try {
    return (await users.list(100)).users.some((u) => u.lastName === lastName);
  } finally {
    users.close();
  }
}

describe("form from instance A, POST to instance B", () => {
  test("memory key ring (the original bug): signed in on both, yet 403 and B logs the unknown key id", async (t) => {
    // As `npm start -- --keyring memory` runs it: anti-forgery keys per instance, sessions shared.
    const sessions = mkdtempSync(join(tmpdir(), "fleetline-session-keys-"));
    const [a, b] = await startPair({ KEYRING_STORE: "memory", SESSION_KEYRING_DIR: sessions });
    t.after(async () => {
      await Promise.all([a.stop(), b.stop()]);
      rmSync(sessions, { recursive: true, force: true });
    });
    const result = await formFromAPostToB(a, b, "Memory");
    assert.equal(result.status, 403);
    assert.match(result.body, /This form expired or did not come from this site/);
    const logged = await b.waitForLine((l) => l.includes(`unknown-key (key id ${result.keyId})`));
    assert.ok(logged, `B logged the unknown key id ${result.keyId}`);
    assert.equal(await stored("Memory"), false, "nothing stored");
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
    assert.equal(await stored("FileShared"), true);
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
    assert.equal(await stored("RedisShared"), true);
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
