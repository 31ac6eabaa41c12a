import assert from "node:assert/strict";
import { test } from "node:test";
import { issueToken, verifyToken } from "../../src/antiforgery/token.js";
import { newSessionId } from "../../src/auth/session.js";
import { newSigningKey, type SigningKey } from "../../src/keyring/index.js";

function resolverOf(...keys: SigningKey[]) {
  const find = (id: string) => keys.find((k) => k.id === id);
  return { find, resolve: async (id: string) => find(id) };
}

const key = newSigningKey({ now: Date.now(), lifetimeMs: 86_400_000 });

test("a token verifies for the session it was issued to, and only that one", async () => {
  const sid = newSessionId();
  const token = issueToken(key, sid);
  assert.deepEqual(await verifyToken(resolverOf(key), token, sid), { ok: true, keyId: key.id });
  const other = await verifyToken(resolverOf(key), token, newSessionId());
  assert.deepEqual(other, { ok: false, reason: "session-mismatch", keyId: key.id });
});

test("two tokens for one session differ (fresh nonce each time)", () => {
  const sid = newSessionId();
  assert.notEqual(issueToken(key, sid), issueToken(key, sid));
});

test("a token signed by a different key with the same id does not verify", async () => {
  const sid = newSessionId();
  const impostor: SigningKey = { ...key, secret: Buffer.alloc(32, 7) };
  const token = issueToken(impostor, sid);
  const result = await verifyToken(resolverOf(key), token, sid);
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.reason, "bad-signature");
});

test("non-string, oversized and odd tokens are malformed, never a throw", async () => {
  const sid = newSessionId();
  for (const token of [
    ["a", "b"],
    42,
    "x".repeat(5000),
    "v1....",
    "v2.a.b.c.d",
    "v2.a.b.c.d.e",
    "\u0000",
  ]) {
    const result = await verifyToken(resolverOf(key), token, sid);
    assert.equal(
      !result.ok && result.reason,
      "malformed-token",
      JSON.stringify(token).slice(0, 40),
    );
  }
  const missing = await verifyToken(resolverOf(key), undefined, sid);
  assert.equal(!missing.ok && missing.reason, "missing-token");
});

test("a token carries its issue time inside the signature and expires after maxAgeSeconds", async () => {
  const sid = newSessionId();
  const issuedAt = Date.parse("2026-12-01T08:00:00Z");
  const token = issueToken(key, sid, issuedAt);
  const at = (ms: number) =>
    verifyToken(resolverOf(key), token, sid, { maxAgeSeconds: 3600, nowMs: ms });
  assert.equal((await at(issuedAt + 3_599_000)).ok, true);
  const late = await at(issuedAt + 3_600_000);
  assert.equal(!late.ok && late.reason, "expired-token");
  const early = await at(issuedAt - 120_000);
  assert.equal(!early.ok && early.reason, "expired-token", "issued in the future beyond the skew");
  // Moving the issue time forward breaks the signature: the age cannot be edited.
  const parts = token.split(".");
  parts[3] = Math.floor((issuedAt + 7_200_000) / 1000).toString(36);
  const edited = await verifyToken(resolverOf(key), parts.join("."), sid, {
    maxAgeSeconds: 3600,
    nowMs: issuedAt + 7_200_000,
  });
  assert.equal(!edited.ok && edited.reason, "bad-signature");
});

test("a session's tag is remembered per key: another key's token for the same session is refused", async () => {
  const sid = newSessionId();
  const first = issueToken(key, sid);
  // Same id, another secret (a forged or corrupted record): nothing computed for `key` is reused.
  const impostor: SigningKey = { ...key, secret: Buffer.alloc(32, 9) };
  const forged = issueToken(impostor, sid);
  assert.notEqual(forged.split(".")[4], first.split(".")[4], "the impostor's tag is its own");
  assert.deepEqual(await verifyToken(resolverOf(key), first, sid), { ok: true, keyId: key.id });
  assert.equal((await verifyToken(resolverOf(key), forged, sid)).ok, false);
  // Issued again for the same session: same tag (remembered), still verifies.
  const again = issueToken(key, sid);
  assert.equal(again.split(".")[4], first.split(".")[4]);
  assert.deepEqual(await verifyToken(resolverOf(key), again, sid), { ok: true, keyId: key.id });
});
