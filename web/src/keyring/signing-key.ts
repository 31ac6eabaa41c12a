import { randomBytes } from "node:crypto";

/** A key that signs anti-forgery tokens. Immutable: revocation yields a new object. */
export interface SigningKey {
  /** URL-safe id carried inside tokens, matching {@link KEY_ID_PATTERN}. */
  readonly id: string;
  /** 32 random bytes, the HMAC-SHA256 key. */
  readonly secret: Buffer;
  readonly created: Date;
  /** Before this instant the key verifies tokens but is not chosen for signing. */
  readonly activates: Date;
  /** From this instant the key neither signs nor verifies. */
  readonly expires: Date;
  readonly revoked: boolean;
}

/**
 * Ids come from untrusted tokens, so their shape is checked before they can trigger any store
 * I/O; the bounds leave room for ids minted by other tools, ours are 16 characters.
 */
export const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
export const SECRET_BYTES = 32;
const ID_BYTES = 12;

export function isValidKeyId(id: string): boolean {
  return KEY_ID_PATTERN.test(id);
}

export interface NewSigningKeyOptions {
  /** Creation instant in ms since the epoch. */
  readonly now: number;
  /** Activation instant in ms since the epoch; default `now` (active at once). */
  readonly activates?: number;
  /** Lifetime counted from activation, in ms. */
  readonly lifetimeMs: number;
}

export function newSigningKey(options: NewSigningKeyOptions): SigningKey {
  const activates = options.activates ?? options.now;
  return {
    id: randomBytes(ID_BYTES).toString("base64url"),
    secret: randomBytes(SECRET_BYTES),
    created: new Date(options.now),
    activates: new Date(activates),
    expires: new Date(activates + options.lifetimeMs),
    revoked: false,
  };
}

/** Not revoked and not expired at `now`: may verify tokens (activation is not required). */
export function isUsable(key: SigningKey, now: number): boolean {
  return !key.revoked && key.expires.getTime() > now;
}

/** Usable and activated at `now`: may sign tokens. */
export function isActive(key: SigningKey, now: number): boolean {
  return isUsable(key, now) && key.activates.getTime() <= now;
}

export function withRevoked(key: SigningKey): SigningKey {
  return { ...key, revoked: true };
}

/** The record stores keep, one JSON object per key. */
interface SigningKeyRecord {
  id: string;
  secret: string;
  created: string;
  activates: string;
  expires: string;
  revoked: boolean;
}

export function serializeSigningKey(key: SigningKey): string {
  const record: SigningKeyRecord = {
    id: key.id,
    secret: key.secret.toString("base64"),
    created: key.created.toISOString(),
    activates: key.activates.toISOString(),
    expires: key.expires.toISOString(),
    revoked: key.revoked,
  };
  return JSON.stringify(record);
}

/** Thrown by {@link parseSigningKey}; stores log it and skip the record. */
export class InvalidKeyRecordError extends Error {
  override readonly name = "InvalidKeyRecordError";
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function parseDate(value: unknown, field: string): Date {
  if (typeof value !== "string") throw new InvalidKeyRecordError(`${field} is not a string`);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidKeyRecordError(`${field} is not a date`);
  return date;
}

/**
 * Parses and validates a stored record. Everything is checked because a store is shared: a
 * record written by a buggy or older instance must be rejected here, not fail later per request.
 */
export function parseSigningKey(json: string): SigningKey {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new InvalidKeyRecordError("not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidKeyRecordError("not a JSON object");
  }
  const record = value as Record<string, unknown>;
  const { id, secret, revoked } = record;
  if (typeof id !== "string" || !isValidKeyId(id)) {
    throw new InvalidKeyRecordError("id is missing or malformed");
  }
  if (typeof secret !== "string" || !BASE64.test(secret)) {
    throw new InvalidKeyRecordError("secret is not base64");
  }
  const secretBytes = Buffer.from(secret, "base64");
  if (secretBytes.length !== SECRET_BYTES) {
    throw new InvalidKeyRecordError(`secret is not ${SECRET_BYTES} bytes`);
  }
  if (typeof revoked !== "boolean") throw new InvalidKeyRecordError("revoked is not a boolean");
  const created = parseDate(record.created, "created");
  const activates = parseDate(record.activates, "activates");
  const expires = parseDate(record.expires, "expires");
  if (expires.getTime() <= activates.getTime()) {
    throw new InvalidKeyRecordError("expires is not after activates");
  }
  return { id, secret: secretBytes, created, activates, expires, revoked };
}
