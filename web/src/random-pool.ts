import { randomBytes } from "node:crypto";

/**
 * Random strings for ids and nonces drawn from a pool of OS randomness refilled 4 KiB at a time.
 * Each `randomBytes` call is a trip into OpenSSL (about 4 µs here, measured in bench/README.md);
 * the token page drew twice per first visit. Same generator, same bytes, each byte used once and
 * never exposed twice; only the number of calls changes. Written by hand: the few lines a
 * dependency would need are these.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/** `bytes` fresh random bytes (at most 4096) as base64url, as randomBytes(bytes).toString would give. */
export function randomBase64url(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > POOL_BYTES) {
    throw new RangeError(`randomBase64url: 1 to ${POOL_BYTES} bytes, not ${bytes}`);
  }
  if (offset + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const out = pool.toString("base64url", offset, offset + bytes);
  // Wiped as it is used, so a later bug that exposed the pool could not reveal issued values.
  pool.fill(0, offset, offset + bytes);
  offset += bytes;
  return out;
}
