import assert from "node:assert/strict";
import { test } from "node:test";
import {
  InvalidKeyRecordError,
  isValidKeyId,
  newSigningKey,
  parseSigningKey,
  serializeSigningKey,
} from "../../src/keyring/signing-key.js";

const NOW = Date.UTC(2026, 10, 26);
const DAY = 86_400_000;

test("a new key has a random url-safe id, 32 random secret bytes, and its lifetime from activation", () => {
  const a = newSigningKey({ now: NOW, activates: NOW + DAY, lifetimeMs: 90 * DAY });
  const b = newSigningKey({ now: NOW, lifetimeMs: 90 * DAY });
  assert.ok(isValidKeyId(a.id));
  assert.notEqual(a.id, b.id);
  assert.equal(a.secret.length, 32);
  assert.ok(!a.secret.equals(b.secret));
  assert.equal(a.created.getTime(), NOW);
  assert.equal(a.expires.getTime(), NOW + 91 * DAY);
  assert.equal(b.activates.getTime(), NOW, "active at once by default");
  assert.equal(a.revoked, false);
});

test("a serialized key parses back to the same key", () => {
  const key = newSigningKey({ now: NOW, lifetimeMs: DAY });
  const json = serializeSigningKey(key);
  assert.deepEqual(Object.keys(JSON.parse(json)), [
    "id",
    "secret",
    "created",
    "activates",
    "expires",
    "revoked",
  ]);
  assert.deepEqual(parseSigningKey(json), key);
});

test("malformed records are rejected with InvalidKeyRecordError", () => {
  const good = JSON.parse(serializeSigningKey(newSigningKey({ now: NOW, lifetimeMs: DAY })));
  const bad: unknown[] = [
    "not json",
    "[]",
    "null",
    { ...good, id: "short" },
    { ...good, id: "has/slash/inside" },
    { ...good, secret: Buffer.alloc(16).toString("base64") },
    { ...good, secret: "not base64!!" },
    { ...good, created: "yesterday" },
    { ...good, activates: 12 },
    { ...good, expires: good.activates },
    { ...good, revoked: "false" },
    { ...good, secret: undefined },
  ];
  for (const record of bad) {
    const json = typeof record === "string" ? record : JSON.stringify(record);
    assert.throws(() => parseSigningKey(json), InvalidKeyRecordError, json);
  }
});

test("key ids are 8 to 64 url-safe characters", () => {
  assert.ok(isValidKeyId("abcdEFGH"));
  assert.ok(isValidKeyId("a-b_c".padEnd(64, "x")));
  for (const id of [
    "abcdEFG",
    "x".repeat(65),
    "abc def gh",
    "abcd+efgh",
    "abcd=efg",
    "ключ-ключ-1",
  ]) {
    assert.equal(isValidKeyId(id), false, id);
  }
});
