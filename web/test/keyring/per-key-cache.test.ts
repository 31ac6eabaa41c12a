import assert from "node:assert/strict";
import { test } from "node:test";
import { newSigningKey } from "../../src/keyring/index.js";
import { PerKeyCache } from "../../src/keyring/per-key-cache.js";

const key = () => newSigningKey({ now: Date.now(), lifetimeMs: 86_400_000 });

test("values are kept per key object: another key with the same id sees none of them", () => {
  const cache = new PerKeyCache<string>(10);
  const a = key();
  const twin = { ...a };
  cache.set(a, "sid", "value");
  assert.equal(cache.get(a, "sid"), "value");
  assert.equal(cache.get(twin, "sid"), undefined);
  assert.equal(cache.get(key(), "sid"), undefined);
});

test("a key's map is emptied when it reaches its bound, so it never holds more", () => {
  const cache = new PerKeyCache<number>(2);
  const a = key();
  cache.set(a, "one", 1);
  cache.set(a, "two", 2);
  cache.set(a, "three", 3);
  assert.deepEqual(
    ["one", "two", "three"].map((id) => cache.get(a, id)),
    [undefined, undefined, 3],
  );
});
