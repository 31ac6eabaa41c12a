import { createHmac, timingSafeEqual } from "node:crypto";
import type { SigningKey } from "../keyring/index.js";
import { PerKeyCache } from "../keyring/per-key-cache.js";
import { randomBase64url } from "../random-pool.js";

/**
 * Anti-forgery tokens: OWASP's signed double-submit cookie, keyed by a shared key ring.
 *
 * Written here rather than taken from a library because the Node options fall short where it
 * matters for a fleet: csrf-csrf compares signatures with `===` (not constant time) and has a
 * single static secret; @fastify/csrf-protection (via @fastify/csrf) draws salts from
 * Math.random; and none knows key ids, so none can verify a token signed by another instance's
 * newer key, which is the original system's bug.
 *
 * token = "v2." keyId "." nonce "." issuedAt "." sessionTag "." mac
 *   nonce      = 12 random bytes
 *   issuedAt   = seconds since the epoch, base 36: the token expires hours later, not with its key
 *   sessionTag = HMAC(key, "session" ‖ sessionId)[0..8]   binds the token to the signed-in session
 *   mac        = HMAC(key, "token" ‖ keyId ‖ nonce ‖ issuedAt ‖ sessionTag)
 * Splitting the session tag from the mac lets us tell a forged token (bad mac) from a genuine
 * token replayed under another session (tag mismatch) in the logs.
 */
export type RejectionReason =
  | "cross-site"
  | "missing-session"
  | "missing-token"
  | "malformed-token"
  | "unknown-key"
  | "bad-signature"
  | "session-mismatch"
  | "expired-token";

export type Verification =
  | { readonly ok: true; readonly keyId: string }
  | { readonly ok: false; readonly reason: RejectionReason; readonly keyId?: string };

/** What verification needs from the key ring: a cached lookup that refreshes on unknown ids. */
export interface KeyResolver {
  /** Cached keys only, no I/O: the steady-state path, taken first. */
  find(id: string): SigningKey | undefined;
  /** find(), then a (rate-limited) store refresh for an id this instance has not seen. */
  resolve(id: string): Promise<SigningKey | undefined>;
}

const TOKEN_PATTERN =
  /^v2\.([A-Za-z0-9_-]{8,64})\.([A-Za-z0-9_-]{16})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{11})\.([A-Za-z0-9_-]{43})$/;
const MAX_TOKEN_LENGTH = 200;
/** Tokens issued up to this far ahead (another instance's clock) still verify. */
const CLOCK_SKEW_SECONDS = 60;
/** Default lifetime of a token: a form left open longer is refused and served again. */
export const DEFAULT_TOKEN_TTL_SECONDS = 4 * 3600;

export interface VerifyOptions {
  /** Default DEFAULT_TOKEN_TTL_SECONDS. */
  readonly maxAgeSeconds?: number;
  /** Default Date.now(). */
  readonly nowMs?: number;
}

/**
 * Session tags computed lately, per key object and session id: a returning browser's tag is the
 * same on every form it is given and every token it sends back, and each HMAC was about a tenth
 * of the token page's CPU (bench/README.md). A tag is no secret (every token carries it in the
 * clear); whether a key may still be used is the ring's to say, before this runs.
 */
const recentTags = new PerKeyCache<Buffer>(10_000);

function sessionTag(key: SigningKey, sessionId: string): Buffer {
  const cached = recentTags.get(key, sessionId);
  if (cached) return cached;
  const tag = createHmac("sha256", key.secret)
    .update("fleetline/antiforgery/session\0")
    .update(sessionId)
    .digest()
    .subarray(0, 8);
  recentTags.set(key, sessionId, tag);
  return tag;
}

function mac(key: SigningKey, nonce: string, issuedAt: string, tag: string): Buffer {
  return createHmac("sha256", key.secret)
    .update("fleetline/antiforgery/token\0")
    .update(key.id)
    .update("\0")
    .update(nonce)
    .update("\0")
    .update(issuedAt)
    .update("\0")
    .update(tag)
    .digest();
}

export function issueToken(key: SigningKey, sessionId: string, nowMs: number = Date.now()): string {
  const nonce = randomBase64url(12);
  const issuedAt = Math.floor(nowMs / 1000).toString(36);
  const tag = sessionTag(key, sessionId).toString("base64url");
  return `v2.${key.id}.${nonce}.${issuedAt}.${tag}.${mac(key, nonce, issuedAt, tag).toString("base64url")}`;
}

export async function verifyToken(
  keys: KeyResolver,
  token: unknown,
  sessionId: string,
  options: VerifyOptions = {},
): Promise<Verification> {
  if (token === undefined || token === "") return { ok: false, reason: "missing-token" };
  if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) {
    return { ok: false, reason: "malformed-token" };
  }
  const match = TOKEN_PATTERN.exec(token);
  if (!match) return { ok: false, reason: "malformed-token" };
  const [, keyId = "", nonce = "", issuedAt = "", tag = "", signature = ""] = match;
  const key = keys.find(keyId) ?? (await keys.resolve(keyId));
  if (!key) return { ok: false, reason: "unknown-key", keyId };
  const given = Buffer.from(signature, "base64url");
  const expected = mac(key, nonce, issuedAt, tag);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: "bad-signature", keyId };
  }
  const givenTag = Buffer.from(tag, "base64url");
  const expectedTag = sessionTag(key, sessionId);
  if (givenTag.length !== expectedTag.length || !timingSafeEqual(givenTag, expectedTag)) {
    return { ok: false, reason: "session-mismatch", keyId };
  }
  // Checked after the signature, so the age read is one this ring vouched for.
  const age = (options.nowMs ?? Date.now()) / 1000 - Number.parseInt(issuedAt, 36);
  const maxAge = options.maxAgeSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  if (age < -CLOCK_SKEW_SECONDS || age >= maxAge) {
    return { ok: false, reason: "expired-token", keyId };
  }
  return { ok: true, keyId };
}
