// readSession remembers the sessions it verified (a signed-in browser sends the same cookie with
// every request); what it remembers must never outlive what a full check would accept.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KeyResolver } from "../../src/antiforgery/token.js";
import { issueSession, readSession } from "../../src/auth/session.js";
import { newSigningKey, type SigningKey } from "../../src/keyring/signing-key.js";

const TTL_SECONDS = 3600;

/** The ring's view: the keys it still vouches for (a revoked or expired key is not found). */
function ringOf(...keys: SigningKey[]): KeyResolver & { drop(id: string): void } {
  const usable = new Map(keys.map((k) => [k.id, k]));
  return {
    find: (id) => usable.get(id),
    resolve: async (id) => usable.get(id),
    drop: (id) => usable.delete(id),
  };
}

const key = () => newSigningKey({ now: Date.now(), lifetimeMs: 86_400_000 });

test("a session read before still expires at its lifetime", async () => {
  const signingKey = key();
  const ring = ringOf(signingKey);
  const signedAt = Date.now();
  const { cookie } = issueSession(signingKey, { sub: "op" }, signedAt);
  for (let i = 0; i < 3; i++) {
    assert.equal((await readSession(ring, cookie, TTL_SECONDS, signedAt + 1000)).ok, true);
  }
  const later = await readSession(ring, cookie, TTL_SECONDS, signedAt + TTL_SECONDS * 1000);
  assert.deepEqual(later, { ok: false, reason: "expired", keyId: signingKey.id });
});

test("a session read before is refused once the ring no longer vouches for its key (revoked)", async () => {
  const signingKey = key();
  const ring = ringOf(signingKey);
  const { cookie } = issueSession(signingKey, { sub: "op" });
  assert.equal((await readSession(ring, cookie, TTL_SECONDS)).ok, true);
  ring.drop(signingKey.id);
  const after = await readSession(ring, cookie, TTL_SECONDS);
  assert.deepEqual(after, { ok: false, reason: "unknown-key", keyId: signingKey.id });
});

test("only the exact cookie that verified is remembered: a tampered copy is checked and refused", async () => {
  const signingKey = key();
  const ring = ringOf(signingKey);
  const { cookie, session } = issueSession(signingKey, { sub: "op", email: "op@example.com" });
  const read = await readSession(ring, cookie, TTL_SECONDS);
  assert.deepEqual(read, { ok: true, session });
  const [prefix, keyId, payload, signature = ""] = cookie.split(".");
  const flipped = `${signature.slice(0, -2)}${signature.endsWith("AA") ? "BA" : "AA"}`;
  const tampered = [prefix, keyId, payload, flipped].join(".");
  assert.deepEqual(await readSession(ring, tampered, TTL_SECONDS), {
    ok: false,
    reason: "bad-signature",
    keyId: signingKey.id,
  });
  // The same key id and payload under another key's signature: not a hit either.
  const other = { ...key(), id: signingKey.id };
  const forged = issueSession(other, { sub: "op" }).cookie;
  assert.equal((await readSession(ring, forged, TTL_SECONDS)).ok, false);
});
