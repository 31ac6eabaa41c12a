import assert from "node:assert/strict";
import { validateUserForm } from "../../src/users/validation.js";
import type { TestApp } from "../helpers/app.js";

/** What a 4xx page may say; each names the problem (field messages, or the kind of request). */
export const EXPLANATIONS =
  /is required|must not contain control characters|must not contain invisible or text-direction characters|must be at most 100 characters|was sent more than once|must be text|version field|could not be used|this form expired or did not come from this site|That was too large|is not accepted|Page not found|page link is not valid|Sign in first|Too many requests/i;

export interface Answer {
  readonly statusCode: number;
  readonly headers: Record<string, unknown>;
  readonly body: string;
}

/** Never a 5xx; a 303 (valid input) or a 4xx HTML page that says what was wrong. */
export function assertRefusedOrAccepted(res: Answer, what: string): void {
  const context = `${what} → ${res.statusCode}: ${res.body.slice(0, 300)}`;
  assert.ok(res.statusCode < 500, `server error for ${context}`);
  if (res.statusCode === 303) return;
  assert.ok(res.statusCode >= 400 && res.statusCode < 500, `unexpected status for ${context}`);
  assert.match(String(res.headers["content-type"] ?? ""), /^text\/html/, context);
  assert.match(res.body, /<h1>/, `no page heading for ${context}`);
  assert.match(res.body, EXPLANATIONS, `the page does not say what was wrong: ${context}`);
}

/** Every stored user is exactly what validation would have produced from it: nothing invalid got in. */
export async function assertTableValid(t: TestApp): Promise<number> {
  let cursor: string | undefined;
  let count = 0;
  do {
    const page = await t.users.list(100, cursor);
    for (const user of page.users) {
      const fields = { firstName: user.firstName, lastName: user.lastName };
      const result = validateUserForm(fields);
      assert.deepEqual(
        result.value,
        fields,
        `stored user ${user.id} holds a value that fails validation: ${JSON.stringify(fields)} (${JSON.stringify(result.errors)})`,
      );
      count++;
    }
    cursor = page.next;
  } while (cursor);
  return count;
}
