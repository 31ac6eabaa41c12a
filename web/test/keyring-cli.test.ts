import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { test } from "node:test";
import { FileKeyStore, KeyRing, MemoryKeyStore } from "../src/keyring/index.js";
import { runKeyringCli } from "../src/keyring-cli.js";
import { ControlledStore, recordingLogger, tempDir } from "./keyring/helpers.js";

const WEB_DIR = resolve(import.meta.dirname, "..");

async function cli(args: string[], env: Record<string, string>) {
  const lines: string[] = [];
  const code = await runKeyringCli(args, env, (l) => lines.push(l));
  return { code, output: lines.join("\n") };
}

test("revoke on a running fleet: the operator's command reaches every instance at its next refresh", async (t) => {
  const dir = await tempDir(t);
  const env = { KEYRING_STORE: "file", KEYRING_DIR: dir };
  const logger = recordingLogger();
  // Two running instances on the shared store, refreshing by hand here (every 60 s in the web).
  // One after the other, as a settled fleet: two rings minting on an empty store at once is the
  // key ring's own test.
  const instances: KeyRing[] = [];
  for (let i = 0; i < 2; i++) {
    instances.push(
      await KeyRing.open({
        store: new FileKeyStore({ dir, logger }),
        logger,
        refreshIntervalMs: 3_600_000,
      }),
    );
  }
  t.after(() => Promise.all(instances.map((r) => r.close())));
  const [a, b] = instances;
  assert.ok(a && b);
  const doomed = a.signingKey().id;
  assert.equal(b.signingKey().id, doomed, "one shared signing key");

  const listed = await cli(["list"], env);
  assert.equal(listed.code, 0);
  assert.match(listed.output, new RegExp(`^${doomed}  active `, "m"));

  const revoked = await cli(["revoke", doomed], env);
  assert.equal(revoked.code, 0, revoked.output);
  assert.match(revoked.output, new RegExp(`revoked ${doomed} in the file store`));

  for (const ring of [a, b]) {
    await ring.refresh();
    assert.equal(ring.find(doomed), undefined, "the revoked key no longer verifies");
    assert.notEqual(ring.signingKey().id, doomed, "a replacement signs");
  }
  assert.match((await cli(["list"], env)).output, new RegExp(`^${doomed}  revoked`, "m"));
});

test("usage errors and unknown ids are clear, and exit non-zero", async (t) => {
  const dir = await tempDir(t);
  const env = { KEYRING_STORE: "file", KEYRING_DIR: dir };
  assert.equal((await cli([], env)).code, 2);
  assert.equal((await cli(["revoke"], env)).code, 2);
  assert.equal((await cli(["drop", "x"], env)).code, 2);
  const unknown = await cli(["revoke", "NoSuchKeyId01"], env);
  assert.equal(unknown.code, 1);
  assert.match(unknown.output, /no key NoSuchKeyId01 in the file store/);
  const memory = await cli(["list"], { KEYRING_STORE: "memory" });
  assert.equal(memory.code, 2);
  assert.match(memory.output, /no store to act on/);
});

test("`npm run keyring` runs the command as a process", async (t) => {
  const dir = await tempDir(t);
  const res = spawnSync(process.execPath, ["--import", "tsx", "src/keyring-cli.ts", "rotate"], {
    cwd: WEB_DIR,
    env: { PATH: process.env.PATH ?? "", KEYRING_STORE: "file", KEYRING_DIR: dir },
    encoding: "utf8",
  });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^stored key [A-Za-z0-9_-]+; it starts signing at /);
});

test("a key revoked on an instance stays revoked there when the store still says otherwise", async (t) => {
  const store = new ControlledStore(new MemoryKeyStore());
  const logger = recordingLogger();
  const ring = await KeyRing.open({ store, logger, refreshIntervalMs: 3_600_000 });
  t.after(() => ring.close());
  const doomed = ring.signingKey().id;
  // The store is unreachable when the operator revokes: the revocation fails there...
  store.failing = true;
  await assert.rejects(ring.revoke(doomed), /unreachable/);
  assert.equal(ring.find(doomed), undefined, "...but holds here at once");
  // ...and the store comes back still holding the key unrevoked: the next refresh keeps it revoked.
  store.failing = false;
  assert.equal((await store.inner.load()).find((k) => k.id === doomed)?.revoked, false);
  await ring.refresh();
  assert.equal(ring.find(doomed), undefined);
  assert.equal(await ring.resolve(doomed), undefined);
  assert.notEqual(ring.signingKey().id, doomed);
});
