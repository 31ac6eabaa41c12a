// Generators of hostile form input, shared by the fuzz tests.
import fc from "fast-check";

/** Percent-encodes every UTF-16 code unit's UTF-8 bytes, lone surrogates included (as CESU). */
export function encodeRaw(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdfff) {
      // encodeURIComponent throws on a lone surrogate; send the bytes a broken client would.
      const bytes = [0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)];
      out += bytes.map((b) => `%${b.toString(16).toUpperCase()}`).join("");
      continue;
    }
    out += encodeURIComponent(value[i] ?? "");
  }
  return out;
}

const controlChar = fc
  .oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }))
  .map((c) => String.fromCharCode(c));

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** Names of every kind: ordinary, any Unicode, with controls, lone surrogates, blank, long. */
export const nameValue: fc.Arbitrary<string> = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc
    .tuple(fc.string({ maxLength: 10 }), controlChar, fc.string({ maxLength: 10 }))
    .map(([a, c, b]) => a + c + b),
  fc
    .tuple(fc.string({ maxLength: 10 }), loneSurrogate, fc.string({ maxLength: 10 }))
    .map(([a, s, b]) => a + s + b),
  fc.constantFrom(
    "",
    " ",
    "\t\n",
    "\u00a0",
    "\u200b",
    "\ufeff",
    "e\u0301",
    "👩‍👩‍👧‍👦",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "#{7*7}",
    "' OR 1=1 --",
    "__proto__",
    "constructor",
    "%00",
  ),
  // Around the 100-character limit, counted in code points (an emoji is one).
  fc.integer({ min: 95, max: 105 }).map((n) => "x".repeat(n)),
  fc.integer({ min: 95, max: 105 }).map((n) => "😀".repeat(n)),
  fc.integer({ min: 1000, max: 20_000 }).map((n) => "y".repeat(n)),
);

/** One `key=value` pair of a url-encoded body, or a malformed fragment. */
export const bodyPart: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: nameValue.map((v) => `firstName=${encodeRaw(v)}`) },
  { weight: 4, arbitrary: nameValue.map((v) => `lastName=${encodeRaw(v)}`) },
  nameValue.map((v) => `firstName[]=${encodeRaw(v)}`),
  nameValue.map((v) => `lastName[0]=${encodeRaw(v)}`),
  nameValue.map((v) => `version=${encodeRaw(v)}`),
  fc.constantFrom(
    "firstName",
    "firstName=",
    "=",
    "&",
    "%",
    "%zz",
    "%E0%A4",
    "%C0%AF",
    "%FF%FE",
    "a=%",
    "firstName=%ZZ",
    "firstName=%E2%82",
    "lastName=%F0%9F%98",
    "__proto__[firstName]=x",
    "__proto__=x",
    "constructor[prototype][x]=1",
    "firstName=a&firstName=b",
    "_csrf=",
    "_csrf=x",
    "+++",
  ),
);
