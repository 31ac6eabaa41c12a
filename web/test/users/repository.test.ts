import assert from "node:assert/strict";
import crypto from "node:crypto";
import { syncBuiltinESMExports } from "node:module";
import { after, before, describe, test } from "node:test";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  StoreUnavailableError,
  UserNotFoundError,
  VersionConflictError,
} from "../../src/users/errors.js";
import { UsersRepository } from "../../src/users/repository.js";
import { FORM_HEADERS, form, formSession, startTestApp } from "../helpers/app.js";
import { createUsersTable, type RunningDynalite, startDynalite } from "../helpers/dynalite.js";

describe("UsersRepository on dynalite", () => {
  let dynalite: RunningDynalite;
  let repo: UsersRepository;
  before(async () => {
    dynalite = await startDynalite();
    await createUsersTable(dynalite.endpoint);
    repo = new UsersRepository({
      tableName: "Users",
      region: "us-east-1",
      endpoint: dynalite.endpoint,
    });
  });
  after(async () => {
    repo.close();
    await dynalite.stop();
  });

  test("creates with version 1 and reads it back", async () => {
    const user = await repo.create({ firstName: "Grace", lastName: "Hopper" });
    assert.equal(user.version, 1);
    assert.deepEqual(await repo.get(user.id), user);
  });

  test("a create never replaces an existing user, even when the new id collides with it", async (t) => {
    const existing = await repo.create({ firstName: "Ada", lastName: "Lovelace" });
    // The repository mints ids with node:crypto's randomUUID; make the next one collide.
    // (syncBuiltinESMExports carries the change to the repository's ESM import binding.)
    t.mock.method(crypto, "randomUUID", () => existing.id);
    syncBuiltinESMExports();
    t.after(() => {
      t.mock.restoreAll();
      syncBuiltinESMExports();
    });
    await assert.rejects(
      repo.create({ firstName: "Mallory", lastName: "Overwrite" }),
      ConditionalCheckFailedException,
    );
    assert.deepEqual(await repo.get(existing.id), existing, "the stored user is untouched");
  });

  test("lists every item across pages of LastEvaluatedKey, each once", async () => {
    const created = new Set<string>();
    for (let i = 0; i < 23; i++)
      created.add((await repo.create({ firstName: `P${i}`, lastName: "Scan" })).id);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await repo.list(7, cursor);
      seen.push(...page.users.filter((u) => u.lastName === "Scan").map((u) => u.id));
      cursor = page.next;
      pages++;
    } while (cursor && pages < 50);
    assert.ok(pages >= 4, `paged (${pages} pages)`);
    assert.equal(seen.length, created.size);
    assert.deepEqual(new Set(seen), created);
  });

  test("an update with a stale version is a conflict carrying the current item", async () => {
    const user = await repo.create({ firstName: "Ken", lastName: "Thompson" });
    const v2 = await repo.update(user.id, 1, { firstName: "Ken", lastName: "T." });
    assert.equal(v2.version, 2);
    await assert.rejects(
      repo.update(user.id, 1, { firstName: "K", lastName: "X" }),
      (error: unknown) => {
        assert.ok(error instanceof VersionConflictError);
        assert.equal(error.current.version, 2);
        assert.equal(error.current.lastName, "T.");
        return true;
      },
    );
    assert.equal((await repo.get(user.id))?.lastName, "T.");
  });

  test("a delete with a stale version is a conflict; with the right one it deletes", async () => {
    const user = await repo.create({ firstName: "Dennis", lastName: "Ritchie" });
    await repo.update(user.id, 1, { firstName: "Dennis", lastName: "M. Ritchie" });
    await assert.rejects(repo.delete(user.id, 1), VersionConflictError);
    await repo.delete(user.id, 2);
    assert.equal(await repo.get(user.id), undefined);
  });

  test("updating or deleting a missing user is not found", async () => {
    const id = "00000000-0000-4000-8000-000000000000";
    await assert.rejects(repo.update(id, 1, { firstName: "a", lastName: "b" }), UserNotFoundError);
    await assert.rejects(repo.delete(id, 1), UserNotFoundError);
    await assert.rejects(
      repo.update("../../etc", 1, { firstName: "a", lastName: "b" }),
      UserNotFoundError,
    );
  });

  test("a missing table is reported as the store being unavailable", async () => {
    const other = new UsersRepository({
      tableName: "NoSuchTable",
      region: "us-east-1",
      endpoint: dynalite.endpoint,
    });
    await assert.rejects(other.ping(), StoreUnavailableError);
    other.close();
  });
});

describe("DynamoDB down", () => {
  test("pages answer 503 while dynalite is stopped, the app keeps running, and recovers", async (t) => {
    const app = await startTestApp();
    t.after(() => app.close());
    const s = formSession(await app.inject({ url: "/users/new" }), app.cookie);
    const port = app.dynalite.port;
    await app.dynalite.stop();

    const list = await app.inject({ url: "/users" });
    assert.equal(list.statusCode, 503);
    assert.match(list.body, /The user store is unavailable/);
    assert.equal(list.headers["retry-after"], "5");
    const post = await app.inject({
      method: "POST",
      url: "/users",
      headers: { ...FORM_HEADERS, cookie: s.cookie },
      payload: form({ _csrf: s.token, firstName: "Down", lastName: "Time" }),
    });
    assert.equal(post.statusCode, 503);
    const ready = await app.inject({ url: "/health/ready" });
    assert.equal(ready.statusCode, 503);
    assert.deepEqual(ready.json().checks, { dynamodb: "down", keystore: "ok" });
    // The reason is in the log, never in the answer (addresses, and on AWS account and role).
    assert.doesNotMatch(ready.body, /ECONNREFUSED|127\.0\.0\.1|:\d{4,5}/);
    assert.ok(
      app.logs.some((l) => l.msg === "not ready" && /ECONNREFUSED/.test(JSON.stringify(l))),
      "the reason readiness failed is logged",
    );
    assert.ok(
      app.logs.some((l) => l.msg === "user store unavailable"),
      "the outage is logged",
    );

    // Same port, fresh (in-memory) dynalite: the app reconnects without a restart.
    const revived = await startDynalite(port);
    t.after(() => revived.stop());
    await createUsersTable(revived.endpoint);
    assert.equal((await app.inject({ url: "/users" })).statusCode, 200);
    assert.equal((await app.inject({ url: "/health/ready" })).statusCode, 200);
  });
});
