import { createHmac, timingSafeEqual } from "node:crypto";
import type { KeyResolver } from "../antiforgery/token.js";
import type { SigningKey } from "../keyring/index.js";

/**
 * Small JSON values signed with the shared key ring: the session cookie and the sign-in flow
 * cookie. Any instance verifies what any other signed, as with anti-forgery tokens.
 *
 * value = prefix "." keyId "." base64url(JSON) "." base64url(HMAC-SHA256(key, purpose ‖ keyId ‖ JSON))
 *
 * Written here rather than with @fastify/cookie's `signed` cookies or a JWT library because those
 * take one static secret (or a static list): neither knows key ids from a ring that rotates and
 * is refreshed on an unknown id, which is what lets a cookie signed by one instance verify on
 * another. The purpose is inside the MAC, so a value signed for one use is refused for another.
 */
export type SignedValueFailure = "malformed" | "unknown-key" | "bad-signature";

export type Unsealed<T> =
  | { readonly ok: true; readonly value: T; readonly keyId: string }
  | { readonly ok: false; readonly reason: SignedValueFailure; readonly keyId?: string };

/** Longest value accepted: a cookie is at most 4 KB anyway, and parsing stops here. */
const MAX_LENGTH = 3000;
const B64URL = /^[A-Za-z0-9_-]+$/;

function mac(key: SigningKey, purpose: string, payload: string): Buffer {
  return createHmac("sha256", key.secret)
    .update(`fleetline/${purpose}\0`)
    .update(key.id)
    .update("\0")
    .update(payload)
    .digest();
}

export function sign(key: SigningKey, purpose: string, prefix: string, value: unknown): string {
  const payload = Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
  return `${prefix}.${key.id}.${payload}.${mac(key, purpose, payload).toString("base64url")}`;
}

/** Checks the signature (constant time) and returns the parsed JSON; the caller checks its shape. */
export async function verify(
  keys: KeyResolver,
  purpose: string,
  prefix: string,
  signed: unknown,
): Promise<Unsealed<unknown>> {
  if (typeof signed !== "string" || signed.length > MAX_LENGTH) {
    return { ok: false, reason: "malformed" };
  }
  const parts = signed.split(".");
  if (parts.length !== 4 || parts[0] !== prefix) return { ok: false, reason: "malformed" };
  const [, keyId = "", payload = "", signature = ""] = parts;
  if (!B64URL.test(keyId) || !B64URL.test(payload) || !B64URL.test(signature)) {
    return { ok: false, reason: "malformed" };
  }
  const key = keys.find(keyId) ?? (await keys.resolve(keyId));
  if (!key) return { ok: false, reason: "unknown-key", keyId };
  const given = Buffer.from(signature, "base64url");
  const expected = mac(key, purpose, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "bad-signature", keyId };
  }
  try {
    return {
      ok: true,
      value: JSON.parse(Buffer.from(payload, "base64url").toString("utf8")),
      keyId,
    };
  } catch {
    // Signed by us, so this cannot happen short of a bug; refuse rather than crash.
    return { ok: false, reason: "malformed", keyId };
  }
}
