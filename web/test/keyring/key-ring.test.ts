import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { type TestContext, test } from "node:test";
import { pino } from "pino";
import { KeyRing, type KeyRingOptions } from "../../src/keyring/key-ring.js";
import { KeyNotFoundError } from "../../src/keyring/key-store.js";
import { MemoryKeyStore } from "../../src/keyring/memory-store.js";
import { ControlledStore, loggedRecovery, loggedStoreError, recordingLogger } from "./helpers.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A clock the test moves by hand. */
function clock(start = Date.UTC(2026, 10, 26, 12)): {
  now: () => number;
  advance(ms: number): void;
} {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

async function openRing(
  t: TestContext,
  options: Partial<KeyRingOptions> = {},
): Promise<{ ring: KeyRing; store: ControlledStore; logger: ReturnType<typeof recordingLogger> }> {
  const store = new ControlledStore(new MemoryKeyStore());
  const logger = recordingLogger();
  // An hour-long interval keeps the timer out of the way: these tests refresh by hand.
  const ring = await KeyRing.open({ store, logger, refreshIntervalMs: HOUR, ...options });
  t.after(() => ring.close());
  return { ring, store, logger };
}

test("a ring opened on an empty store creates one key, active at once, and stores it", async (t) => {
  const c = clock();
  const { ring, store } = await openRing(t, { now: c.now });
  const key = ring.signingKey();
  assert.equal(key.activates.getTime(), c.now());
  assert.equal(key.expires.getTime(), c.now() + 90 * DAY);
  assert.equal(key.secret.length, 32);
  assert.match(key.id, /^[A-Za-z0-9_-]{16}$/);
  assert.deepEqual(
    (await store.inner.load()).map((k) => k.id),
    [key.id],
  );
});

test("a second ring on the same store signs with the existing key instead of minting one", async (t) => {
  const { ring, store } = await openRing(t);
  const second = await KeyRing.open({ store, logger: recordingLogger(), refreshIntervalMs: HOUR });
  t.after(() => second.close());
  assert.equal(second.signingKey().id, ring.signingKey().id);
  assert.equal((await store.inner.load()).length, 1);
});

test("a rotated key signs only after the activation delay, and the old key keeps verifying", async (t) => {
  const c = clock();
  const { ring } = await openRing(t, { now: c.now, activationDelayMs: 10 * MINUTE });
  const old = ring.signingKey();
  c.advance(MINUTE);
  const next = await ring.rotate();
  assert.equal(next.activates.getTime(), c.now() + 10 * MINUTE);
  assert.equal(ring.signingKey().id, old.id, "the new key must not sign before it activates");
  assert.equal(ring.find(next.id)?.id, next.id, "a pending key already verifies");
  c.advance(10 * MINUTE - 1);
  assert.equal(ring.signingKey().id, old.id);
  c.advance(1);
  assert.equal(ring.signingKey().id, next.id);
  assert.equal(ring.find(old.id)?.id, old.id, "the old key still verifies its tokens");
});

test("the activation delay defaults to twice the refresh interval", async (t) => {
  const c = clock();
  const { ring } = await openRing(t, { now: c.now, refreshIntervalMs: 5 * MINUTE });
  const next = await ring.rotate();
  assert.equal(next.activates.getTime() - c.now(), 10 * MINUTE);
});

test("a refresh creates the successor when the active key nears expiry", async (t) => {
  const c = clock();
  const { ring, store } = await openRing(t, {
    now: c.now,
    keyLifetimeMs: 30 * DAY,
    rotateBeforeExpiryMs: 2 * DAY,
    activationDelayMs: HOUR,
  });
  const first = ring.signingKey();
  c.advance(27 * DAY);
  await ring.refresh();
  assert.equal((await store.inner.load()).length, 1, "not due yet: no successor");
  c.advance(DAY + 1);
  await ring.refresh();
  const stored = await store.inner.load();
  assert.equal(stored.length, 2);
  const successor = stored.find((k) => k.id !== first.id);
  assert.equal(successor?.activates.getTime(), c.now() + HOUR);
  assert.equal(ring.signingKey().id, first.id);
  c.advance(HOUR);
  assert.equal(ring.signingKey().id, successor?.id);
  await ring.refresh();
  assert.equal((await store.inner.load()).length, 2, "one successor only");
});

test("an expired key neither signs nor verifies; the ring signs with a fresh key at once", async (t) => {
  const c = clock();
  const { ring, store } = await openRing(t, {
    now: c.now,
    keyLifetimeMs: 10 * DAY,
    rotateBeforeExpiryMs: DAY,
  });
  const old = ring.signingKey();
  c.advance(10 * DAY);
  assert.equal(ring.find(old.id), undefined);
  const fresh = ring.signingKey();
  assert.notEqual(fresh.id, old.id);
  assert.equal(fresh.activates.getTime(), c.now());
  await ring.refresh();
  assert.ok(
    (await store.inner.load()).some((k) => k.id === fresh.id),
    "fresh key stored",
  );
});

test("a revoked key is not found, and a replacement active at once takes over signing", async (t) => {
  const c = clock();
  const { ring, store } = await openRing(t, { now: c.now });
  const doomed = ring.signingKey();
  await ring.revoke(doomed.id);
  assert.equal(ring.find(doomed.id), undefined);
  assert.equal(await ring.resolve(doomed.id), undefined);
  const replacement = ring.signingKey();
  assert.notEqual(replacement.id, doomed.id);
  assert.equal(replacement.activates.getTime(), c.now());
  const stored = new Map((await store.inner.load()).map((k) => [k.id, k]));
  assert.equal(stored.get(doomed.id)?.revoked, true);
  assert.equal(stored.get(replacement.id)?.revoked, false);
});

test("a key revoked here stays refused after a refresh that loads it unrevoked from the store", async (t) => {
  const { ring, store } = await openRing(t);
  const doomed = ring.signingKey();
  // The store is down while the key is revoked: the revocation exists on this instance only.
  store.failing = true;
  await assert.rejects(ring.revoke(doomed.id), /unreachable/);
  assert.equal(ring.find(doomed.id), undefined);
  store.failing = false;
  await ring.refresh();
  const stored = (await store.inner.load()).find((k) => k.id === doomed.id);
  assert.equal(stored?.revoked, false, "the store still holds the key unrevoked");
  assert.equal(ring.find(doomed.id), undefined, "the revocation survived the refresh");
  assert.equal(await ring.resolve(doomed.id), undefined);
  assert.notEqual(ring.signingKey().id, doomed.id);
});

test("revoking an id the ring and the store do not know throws KeyNotFoundError", async (t) => {
  const { ring } = await openRing(t);
  await assert.rejects(ring.revoke("NoSuchKeyId01"), KeyNotFoundError);
});

test("unknown key ids trigger at most one refresh per unknownKeyRefreshIntervalMs", async (t) => {
  const c = clock();
  const { ring, store, logger } = await openRing(t, {
    now: c.now,
    unknownKeyRefreshIntervalMs: 1000,
  });
  const before = store.loads;
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => ring.resolve(`UnknownKey${String(i).padStart(4, "0")}`)),
  );
  assert.ok(results.every((k) => k === undefined));
  assert.equal(store.loads - before, 1, "20 concurrent unknown ids share one refresh");
  await ring.resolve("UnknownKey9999");
  c.advance(999);
  await ring.resolve("UnknownKey9999");
  assert.equal(store.loads - before, 1, "still inside the interval");
  c.advance(1);
  await ring.resolve("UnknownKey9999");
  assert.equal(store.loads - before, 2, "the next interval allows one more");
  const unknown = logger.entries.filter((e) => e.obj.keyId === "UnknownKey9999");
  assert.equal(unknown.length, 3, "each unknown id is logged with its keyId");
});

test("malformed key ids never reach the store", async (t) => {
  const { ring, store } = await openRing(t);
  const before = store.loads;
  for (const id of [
    "",
    "short",
    "has space in it",
    "x".repeat(65),
    "ünïcödé-key-id",
    "../../etc/passwd",
  ]) {
    assert.equal(await ring.resolve(id), undefined);
  }
  assert.equal(store.loads, before);
});

test("signing and verifying with known keys do no store I/O", async (t) => {
  const { ring, store } = await openRing(t);
  const before = { loads: store.loads, adds: store.adds };
  const id = ring.signingKey().id;
  for (let i = 0; i < 10_000; i++) {
    assert.equal(ring.signingKey().id, id);
    assert.ok(ring.find(id));
    assert.ok(await ring.resolve(id));
  }
  assert.deepEqual({ loads: store.loads, adds: store.adds }, before);
});

test("concurrent refresh calls share one store load", async (t) => {
  const { ring, store } = await openRing(t);
  const before = store.loads;
  await Promise.all([ring.refresh(), ring.refresh(), ring.refresh()]);
  assert.equal(store.loads - before, 1);
});

test("when the store is unreachable at open, the ring signs with a local key and publishes it on recovery", async (t) => {
  const store = new ControlledStore(new MemoryKeyStore());
  store.failing = true;
  const logger = recordingLogger();
  const ring = await KeyRing.open({ store, logger, refreshIntervalMs: HOUR });
  t.after(() => ring.close());
  const local = ring.signingKey();
  assert.equal(ring.find(local.id)?.id, local.id);
  assert.ok(loggedStoreError(logger, /unreachable/), "the failure is logged");
  assert.deepEqual(await store.inner.load(), [], "the local key is not in the store yet");
  await assert.rejects(ring.ping());

  store.failing = false;
  await ring.refresh();
  assert.ok(loggedRecovery(logger), "the recovery is logged");
  assert.deepEqual(
    (await store.inner.load()).map((k) => k.id),
    [local.id],
  );
  assert.equal(ring.signingKey().id, local.id);
  await ring.ping();
});

test("when the store fails after open, cached keys keep signing and verifying", async (t) => {
  const { ring, store, logger } = await openRing(t);
  const key = ring.signingKey();
  store.failing = true;
  await ring.refresh();
  assert.equal(await ring.resolve("UnknownKey0001"), undefined);
  assert.ok(loggedStoreError(logger, /unreachable/));
  assert.equal(ring.signingKey().id, key.id);
  assert.equal((await ring.resolve(key.id))?.id, key.id);
  store.failing = false;
  await ring.refresh();
  assert.deepEqual(
    (await store.inner.load()).map((k) => k.id),
    [key.id],
    "no needless local key while a stored one is active",
  );
});

test("a key not yet stored signs only while no stored key is active", async (t) => {
  const c = clock();
  const { ring, store } = await openRing(t, { now: c.now, activationDelayMs: MINUTE });
  const stored = ring.signingKey();
  store.failing = true;
  await assert.rejects(ring.rotate(), /unreachable/);
  c.advance(2 * MINUTE);
  assert.equal(ring.signingKey().id, stored.id, "a rotation that could not be stored is not kept");
  store.failing = false;
  await ring.refresh();
  assert.deepEqual(
    (await store.inner.load()).map((k) => k.id),
    [stored.id],
  );
});

test("inconsistent options are rejected when the ring opens", async () => {
  const store = new MemoryKeyStore();
  const logger = recordingLogger();
  await assert.rejects(
    KeyRing.open({ store, logger, activationDelayMs: 2 * DAY, rotateBeforeExpiryMs: DAY }),
    RangeError,
  );
  await assert.rejects(
    KeyRing.open({ store, logger, keyLifetimeMs: DAY, rotateBeforeExpiryMs: 2 * DAY }),
    RangeError,
  );
  await assert.rejects(KeyRing.open({ store, logger, refreshIntervalMs: 0 }), RangeError);
  assert.deepEqual(await store.load(), [], "nothing was created");
});

test("close stops the ring: later refreshes and unknown ids do not touch the store", async (t) => {
  const { ring, store } = await openRing(t);
  await ring.close();
  const before = store.loads;
  await ring.refresh();
  assert.equal(await ring.resolve("UnknownKey0001"), undefined);
  assert.equal(store.loads, before);
});

test("a pino logger plugs in and receives the unknown key id as keyId", async (t) => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString("utf8")));
      done();
    },
  });
  const ring = await KeyRing.open({
    store: new MemoryKeyStore(),
    logger: pino({ level: "info" }, sink),
    refreshIntervalMs: HOUR,
  });
  t.after(() => ring.close());
  assert.equal(await ring.resolve("UnknownKey0042"), undefined);
  await new Promise((resolve) => setImmediate(resolve));
  const line = lines.find((l) => l.keyId === "UnknownKey0042");
  assert.ok(line, "no log line names the unknown key id");
  assert.equal(line.level, 40, "logged as a warning");
});

test("a store failure that persists is logged once per refresh interval, not per attempt", async (t) => {
  const c = clock();
  const { ring, store, logger } = await openRing(t, { now: c.now, refreshIntervalMs: MINUTE });
  store.failing = true;
  for (let i = 0; i < 5; i++) {
    await ring.refresh();
    c.advance(1000);
  }
  const errors = () => logger.entries.filter((e) => e.level === "error").length;
  assert.equal(errors(), 1);
  c.advance(MINUTE);
  await ring.refresh();
  assert.equal(errors(), 2);
});
