import { randomBytes } from "node:crypto";
import type { KeyResolver } from "../antiforgery/token.js";
import type { SigningKey } from "../keyring/index.js";
import { PerKeyCache } from "../keyring/per-key-cache.js";
import { type SignedValueFailure, sign, verify } from "./signed-value.js";

/** A signed-in operator, as carried by the session cookie. */
export interface Session {
  /** Random id made by the server at sign-in; anti-forgery tokens bind to it. */
  readonly sid: string;
  /** The provider's subject for the operator. */
  readonly sub: string;
  /** Shown in the header; absent when the provider gave none. */
  readonly email?: string;
  /** When the provider vouched for the operator (seconds since the epoch), inside the signed part. */
  readonly iat: number;
}

export type SessionFailure = SignedValueFailure | "expired" | "invalid";

const PURPOSE = "session";
const PREFIX = "s1";
const SID = /^[A-Za-z0-9_-]{43}$/;
/** A session issued up to this far in the future (another instance's clock) is still accepted. */
const CLOCK_SKEW_SECONDS = 60;

/** `__Host-` forces Secure, Path=/ and no Domain: only possible, and only useful, over HTTPS. */
export function sessionCookieName(secure: boolean): string {
  return secure ? "__Host-fleetline.session" : "fleetline.session";
}

export function newSessionId(): string {
  return randomBytes(32).toString("base64url");
}

/** A fresh session (new id, so a session id is never carried over from before sign-in). */
export function issueSession(
  key: SigningKey,
  identity: { readonly sub: string; readonly email?: string | undefined },
  nowMs: number = Date.now(),
): { readonly session: Session; readonly cookie: string } {
  const session: Session = {
    sid: newSessionId(),
    sub: identity.sub,
    ...(identity.email !== undefined && { email: identity.email }),
    iat: Math.floor(nowMs / 1000),
  };
  return { session, cookie: sign(key, PURPOSE, PREFIX, session) };
}

/**
 * Sessions verified lately, per key object and cookie value. A signed-in browser sends the same
 * cookie with every request, and checking it (an HMAC-SHA256, base64 and JSON decoding) was a
 * large share of a signed-in page's CPU (bench/README.md). Only a cookie whose signature checked
 * out is remembered, so forged cookies cannot fill this; it is kept per key object, so a hit
 * needs the very key the ring still vouches for (`find` refuses a revoked or expired key before
 * this is consulted); the session's age is checked on every hit.
 */
const recentSessions = new PerKeyCache<Session>(10_000);

function remembered(keys: KeyResolver, keyId: string, cookie: string): Session | undefined {
  const key = keys.find(keyId);
  return key === undefined ? undefined : recentSessions.get(key, cookie);
}

function remember(keys: KeyResolver, keyId: string, cookie: string, session: Session): void {
  const key = keys.find(keyId);
  if (key !== undefined) recentSessions.set(key, cookie, session);
}

function expired(session: Session, ttlSeconds: number, nowMs: number): boolean {
  const now = nowMs / 1000;
  return session.iat > now + CLOCK_SKEW_SECONDS || now - session.iat >= ttlSeconds;
}

/**
 * The session a cookie carries, if this ring signed it and it is younger than `ttlSeconds`.
 * The lifetime is absolute (counted from sign-in, not from the last request), and decided by
 * the verifier's configuration, so shortening SESSION_TTL_SECONDS ends older sessions at once.
 */
export async function readSession(
  keys: KeyResolver,
  cookie: string | undefined,
  ttlSeconds: number,
  nowMs: number = Date.now(),
): Promise<
  | { readonly ok: true; readonly session: Session }
  | { readonly ok: false; readonly reason: SessionFailure; readonly keyId?: string }
> {
  if (typeof cookie === "string") {
    const keyId = cookie.split(".", 2)[1] ?? "";
    const known = remembered(keys, keyId, cookie);
    if (known !== undefined) {
      return expired(known, ttlSeconds, nowMs)
        ? { ok: false, reason: "expired", keyId }
        : { ok: true, session: known };
    }
  }
  const result = await verify(keys, PURPOSE, PREFIX, cookie);
  if (!result.ok) return result;
  const value = result.value as Partial<Record<keyof Session, unknown>> | null;
  if (
    typeof value !== "object" ||
    value === null ||
    typeof value.sid !== "string" ||
    !SID.test(value.sid) ||
    typeof value.sub !== "string" ||
    value.sub === "" ||
    (value.email !== undefined && typeof value.email !== "string") ||
    typeof value.iat !== "number" ||
    !Number.isInteger(value.iat)
  ) {
    return { ok: false, reason: "invalid", keyId: result.keyId };
  }
  const session: Session = Object.freeze({
    sid: value.sid,
    sub: value.sub,
    ...(typeof value.email === "string" && { email: value.email }),
    iat: value.iat,
  });
  if (expired(session, ttlSeconds, nowMs)) {
    return { ok: false, reason: "expired", keyId: result.keyId };
  }
  if (typeof cookie === "string") remember(keys, result.keyId, cookie, session);
  return { ok: true, session };
}
