import type { UserFields } from "./user.js";

export const NAME_MAX_LENGTH = 100;

export type FieldName = "firstName" | "lastName";

export const FIELD_LABELS: Readonly<Record<FieldName, string>> = {
  firstName: "First name",
  lastName: "Last name",
};

export interface ValidationResult {
  /** Present when every field is valid. */
  readonly value?: UserFields;
  /** Per-field messages, in form order. */
  readonly errors: Partial<Record<FieldName, string>>;
  /** What the user typed, to re-fill the form (strings only; never an array). */
  readonly entered: Readonly<Record<FieldName, string>>;
}

// C0/C1 controls and unpaired surrogates: never a meaningful part of a name, and unpaired
// surrogates cannot be stored as valid UTF-8.
const FORBIDDEN =
  /[\p{Cc}]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;

// Format characters that change how the text around them is shown: bidi overrides, embeddings
// and isolates (U+202E turns "resu" into "user" on screen), and invisible ones (zero-width
// space, soft hyphen, word joiner, BOM). ZWJ and ZWNJ stay allowed: scripts and emoji need them.
const INVISIBLE_OR_REORDERING =
  /[\u00AD\u061C\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF]/u;

// A name must show something: a letter, digit, mark or symbol (emoji included).
const VISIBLE = /[\p{L}\p{N}\p{M}\p{S}\p{P}]/u;

function validateName(
  raw: unknown,
  label: string,
): { value: string; entered: string; error?: string } {
  if (Array.isArray(raw)) {
    return { value: "", entered: "", error: `${label} was sent more than once; send it once.` };
  }
  if (raw !== undefined && typeof raw !== "string") {
    return { value: "", entered: "", error: `${label} must be text.` };
  }
  const entered = raw ?? "";
  const value = entered.normalize("NFC").trim();
  if (value.length === 0) return { value, entered, error: `${label} is required.` };
  if (FORBIDDEN.test(value)) {
    return { value, entered, error: `${label} must not contain control characters.` };
  }
  if (INVISIBLE_OR_REORDERING.test(value)) {
    return {
      value,
      entered,
      error: `${label} must not contain invisible or text-direction characters.`,
    };
  }
  if (!VISIBLE.test(value)) return { value, entered, error: `${label} is required.` };
  const length = [...value].length;
  if (length > NAME_MAX_LENGTH) {
    return {
      value,
      // Do not echo 10 kB back into the form; the message says what to do.
      entered: [...value].slice(0, NAME_MAX_LENGTH).join(""),
      error: `${label} must be at most ${NAME_MAX_LENGTH} characters (it had ${length}).`,
    };
  }
  return { value, entered };
}

/** Validates the user form body: names required, trimmed, 1–100 characters, any Unicode letters. */
export function validateUserForm(body: unknown): ValidationResult {
  const fields = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const first = validateName(fields.firstName, FIELD_LABELS.firstName);
  const last = validateName(fields.lastName, FIELD_LABELS.lastName);
  const errors: Partial<Record<FieldName, string>> = {};
  if (first.error) errors.firstName = first.error;
  if (last.error) errors.lastName = last.error;
  const entered = { firstName: first.entered, lastName: last.entered };
  if (first.error || last.error) return { errors, entered };
  return { value: { firstName: first.value, lastName: last.value }, errors, entered };
}

/** The hidden `version` field: a positive integer, sent once. */
export function parseVersion(raw: unknown): number | undefined {
  if (typeof raw !== "string" || !/^[1-9][0-9]{0,14}$/.test(raw)) return undefined;
  return Number(raw);
}
