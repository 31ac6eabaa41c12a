import assert from "node:assert/strict";
import { test } from "node:test";
import { randomBase64url } from "../src/random-pool.js";

test("pooled random strings have the asked length and do not repeat, across pool refills", () => {
  const seen = new Set<string>();
  // 12-byte draws over about 30 refills of the 4 KiB pool, including draws that cross its end.
  for (let i = 0; i < 10_000; i++) {
    const value = randomBase64url(i % 2 === 0 ? 12 : 32);
    assert.match(value, i % 2 === 0 ? /^[A-Za-z0-9_-]{16}$/ : /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!seen.has(value), `value ${value} repeated at draw ${i}`);
    seen.add(value);
  }
  // Not all-zero (a wiped pool handed out again would be): bytes vary across positions.
  const bytes = Buffer.from(randomBase64url(4096), "base64url");
  assert.ok(new Set(bytes).size > 200, "4096 random bytes take most of the 256 values");
});

test("a size the pool cannot serve is refused", () => {
  assert.throws(() => randomBase64url(0), RangeError);
  assert.throws(() => randomBase64url(4097), RangeError);
  assert.throws(() => randomBase64url(1.5), RangeError);
});
