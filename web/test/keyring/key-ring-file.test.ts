import assert from "node:assert/strict";
import { readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { FileKeyStore } from "../../src/keyring/file-store.js";
import { KeyRing } from "../../src/keyring/key-ring.js";
import {
  barrier,
  ControlledStore,
  loggedRecovery,
  loggedStoreError,
  recordingLogger,
  tempDir,
} from "./helpers.js";

const HOUR = 3_600_000;

/** A ring on its own FileKeyStore object, as a separate process would have; no timer refreshes. */
async function openRing(
  t: TestContext,
  dir: string,
  afterFirstLoad?: () => Promise<void>,
): Promise<{ ring: KeyRing; store: ControlledStore; logger: ReturnType<typeof recordingLogger> }> {
  const logger = recordingLogger();
  const store = new ControlledStore(new FileKeyStore({ dir, logger }));
  store.afterFirstLoad = afterFirstLoad;
  const ring = await KeyRing.open({ store, logger, refreshIntervalMs: HOUR });
  t.after(() => ring.close());
  return { ring, store, logger };
}

async function storedIds(dir: string): Promise<string[]> {
  return (await readdir(dir)).map((name) => name.replace(/\.json$/, "")).sort();
}

test("two rings that both find the directory empty each mint a key, then converge on one", async (t) => {
  const dir = join(await tempDir(t), "ring");
  // Both first loads return before either ring writes: the race ASP.NET loses for a day.
  const lineUp = barrier(2);
  const [a, b] = await Promise.all([openRing(t, dir, lineUp), openRing(t, dir, lineUp)]);
  assert.equal((await storedIds(dir)).length, 2, "each ring minted and stored its own key");
  // Whichever each signs with, the other verifies it at once.
  assert.ok(await b.ring.resolve(a.ring.signingKey().id));
  assert.ok(await a.ring.resolve(b.ring.signingKey().id));
  await Promise.all([a.ring.refresh(), b.ring.refresh()]);
  assert.equal(a.ring.signingKey().id, b.ring.signingKey().id);
  for (const id of await storedIds(dir)) {
    assert.ok(a.ring.find(id) && b.ring.find(id), "both rings hold both keys");
  }
});

test("a key minted by one ring is resolved by another at once through refresh-on-unknown", async (t) => {
  const dir = await tempDir(t);
  const a = await openRing(t, dir);
  const b = await openRing(t, dir);
  const minted = await a.ring.rotate();
  assert.equal(b.ring.find(minted.id), undefined);
  const loadsBefore = b.store.loads;
  const found = await b.ring.resolve(minted.id);
  assert.equal(found?.id, minted.id);
  assert.ok(found?.secret.equals(minted.secret));
  assert.equal(b.store.loads - loadsBefore, 1, "found by exactly one unknown-id refresh");
});

test("a revocation by one ring reaches another on its next refresh", async (t) => {
  const dir = await tempDir(t);
  const a = await openRing(t, dir);
  const b = await openRing(t, dir);
  const key = a.ring.signingKey();
  assert.ok(b.ring.find(key.id));
  await a.ring.revoke(key.id);
  await b.ring.refresh();
  assert.equal(b.ring.find(key.id), undefined);
  assert.equal(b.ring.signingKey().id, a.ring.signingKey().id, "both moved to the replacement");
});

test("a ring opened while its directory is unusable signs locally, then publishes when it is back", async (t) => {
  const dir = join(await tempDir(t), "ring");
  await writeFile(dir, "a file where the directory should be");
  const logger = recordingLogger();
  const ring = await KeyRing.open({
    store: new FileKeyStore({ dir, logger }),
    logger,
    refreshIntervalMs: HOUR,
  });
  t.after(() => ring.close());
  const local = ring.signingKey();
  assert.ok(loggedStoreError(logger, /ENOTDIR|EEXIST/));
  await assert.rejects(ring.ping());

  await rm(dir);
  await ring.refresh();
  assert.ok(loggedRecovery(logger));
  assert.deepEqual(await storedIds(dir), [local.id]);
  const other = await openRing(t, dir);
  assert.equal(
    other.ring.signingKey().id,
    local.id,
    "a later instance signs with the published key",
  );
});

test("while the directory is unusable, cached keys keep verifying and the error is reported", async (t) => {
  const base = await tempDir(t);
  const dir = join(base, "ring");
  const { ring, logger } = await openRing(t, dir);
  const key = ring.signingKey();
  await rename(dir, join(base, "away"));
  await writeFile(dir, "");
  await ring.refresh();
  assert.ok(loggedStoreError(logger, /ENOTDIR/));
  assert.equal((await ring.resolve(key.id))?.id, key.id);
  assert.equal(ring.signingKey().id, key.id);

  await rm(dir);
  await rename(join(base, "away"), dir);
  await ring.refresh();
  assert.ok(loggedRecovery(logger));
});

test("a key that disappears from the store is written back by the rings that know it", async (t) => {
  const dir = await tempDir(t);
  const { ring } = await openRing(t, dir);
  const key = ring.signingKey();
  await rm(join(dir, `${key.id}.json`));
  await ring.refresh();
  assert.deepEqual(await storedIds(dir), [key.id]);
  assert.equal(ring.signingKey().id, key.id);
});
