import assert from "node:assert/strict";
import { test } from "node:test";
import { parseVersion, validateUserForm } from "../../src/users/validation.js";

test("valid names are trimmed and NFC-normalised", () => {
  const r = validateUserForm({ firstName: "  Zoe\u0308 ", lastName: "\tO'Brien\n" });
  assert.deepEqual(r.value, { firstName: "Zoë", lastName: "O'Brien" });
  assert.deepEqual(r.errors, {});
});

test("100 characters pass, 101 do not; length counts characters, not UTF-16 units", () => {
  assert.ok(validateUserForm({ firstName: "🚀".repeat(100), lastName: "x" }).value);
  const r = validateUserForm({ firstName: "🚀".repeat(101), lastName: "x" });
  assert.equal(r.value, undefined);
  assert.match(r.errors.firstName ?? "", /at most 100 characters \(it had 101\)/);
  assert.equal([...r.entered.firstName].length, 100, "the refilled value is cut, not echoed whole");
});

test("missing, blank, control characters, arrays and non-strings are refused per field", () => {
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /is required/],
    ["   ", /is required/],
    ["a\u0000b", /control characters/],
    ["a\u001bb", /control characters/],
    ["\ud800x", /control characters/],
    [["a", "b"], /more than once/],
    [{ nested: 1 }, /must be text/],
  ];
  for (const [value, message] of cases) {
    const r = validateUserForm({ firstName: value, lastName: "Ok" });
    assert.equal(r.value, undefined, JSON.stringify(value));
    assert.match(r.errors.firstName ?? "", message);
    assert.equal(r.errors.lastName, undefined);
  }
});

test("versions are positive integers sent once", () => {
  assert.equal(parseVersion("1"), 1);
  assert.equal(parseVersion("42"), 42);
  for (const bad of [undefined, "", "0", "01", "-1", "1.5", "1e3", ["1", "2"], "9".repeat(16)]) {
    assert.equal(parseVersion(bad), undefined, JSON.stringify(bad));
  }
});
