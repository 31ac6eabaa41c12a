import { z } from "zod";
import type { UserFields } from "./user.js";

export const NAME_MAX_LENGTH = 100;

export type FieldName = "firstName" | "lastName";

export const FIELD_LABELS: Readonly<Record<FieldName, string>> = {
  firstName: "First name",
  lastName: "Last name",
};

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

/**
 * One name field: text sent once, NFC-normalised and trimmed, then checked in order so that the
 * first problem is the one reported.
 */
function nameSchema(label: string) {
  const required = `${label} is required.`;
  return z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? required
          : Array.isArray(issue.input)
            ? `${label} was sent more than once; send it once.`
            : `${label} must be text.`,
    })
    .transform((raw) => raw.normalize("NFC").trim())
    .refine((value) => value.length > 0, { error: required, abort: true })
    .refine((value) => !FORBIDDEN.test(value), {
      error: `${label} must not contain control characters.`,
      abort: true,
    })
    .refine((value) => !INVISIBLE_OR_REORDERING.test(value), {
      error: `${label} must not contain invisible or text-direction characters.`,
      abort: true,
    })
    .refine((value) => VISIBLE.test(value), { error: required, abort: true })
    .superRefine((value, ctx) => {
      const length = [...value].length;
      if (length > NAME_MAX_LENGTH) {
        ctx.addIssue({
          code: "custom",
          message: `${label} must be at most ${NAME_MAX_LENGTH} characters (it had ${length}).`,
        });
      }
    });
}

/** A form body as Fastify hands it over: an object of fields, or nothing at all. */
const formFields = <T extends z.core.$ZodLooseShape>(shape: T) =>
  z.preprocess(
    (body) => (typeof body === "object" && body !== null ? body : {}),
    // Loose: the `_csrf` field stays in the body for the anti-forgery check.
    z.looseObject(shape),
  );

const VERSION_MESSAGE = "The form is missing its version field; reload the page and try again.";

/** The hidden `version` field: a positive integer, sent once. */
const versionSchema = z
  .string({ error: VERSION_MESSAGE })
  .regex(/^[1-9][0-9]{0,14}$/, { error: VERSION_MESSAGE })
  .transform(Number);

const userFieldsShape = {
  firstName: nameSchema(FIELD_LABELS.firstName),
  lastName: nameSchema(FIELD_LABELS.lastName),
};

/** POST /users. */
export const createUserBody = formFields(userFieldsShape);
/** POST /users/:id: the names and the version they were read at. */
export const editUserBody = formFields({ ...userFieldsShape, version: versionSchema });
/** POST /users/:id/delete. */
export const deleteUserBody = formFields({ version: versionSchema });

/** What a bad form re-renders with: each field's first message, and what was typed. */
export interface FormErrors {
  readonly errors: Partial<Record<FieldName, string>>;
  /** What the user typed, to re-fill the form (strings only; never an array). */
  readonly entered: Readonly<Record<FieldName, string>>;
}

/** Whether the refusal names the version field (a tampered or stale page, not a typing error). */
export function versionRefused(issues: readonly z.core.$ZodIssue[]): string | undefined {
  return issues.find((issue) => issue.path[0] === "version")?.message;
}

/** Per-field messages from the schema's issues, and the typed values to put back in the form. */
export function formErrors(body: unknown, issues: readonly z.core.$ZodIssue[]): FormErrors {
  const fields = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const errors: Partial<Record<FieldName, string>> = {};
  for (const issue of issues) {
    const name = issue.path[0];
    if ((name === "firstName" || name === "lastName") && errors[name] === undefined) {
      errors[name] = issue.message;
    }
  }
  return {
    errors,
    entered: { firstName: entered(fields.firstName), lastName: entered(fields.lastName) },
  };
}

function entered(raw: unknown): string {
  if (typeof raw !== "string") return "";
  const characters = [...raw.normalize("NFC").trim()];
  // Do not echo 10 kB back into the form; the message says what to do.
  return characters.length > NAME_MAX_LENGTH ? characters.slice(0, NAME_MAX_LENGTH).join("") : raw;
}

export interface ValidationResult extends FormErrors {
  /** Present when every field is valid. */
  readonly value?: UserFields;
}

/** Validates the user form body: names required, trimmed, 1–100 characters, any Unicode letters. */
export function validateUserForm(body: unknown): ValidationResult {
  const result = createUserBody.safeParse(body);
  if (!result.success) return formErrors(body, result.error.issues);
  const { firstName, lastName } = result.data;
  return { value: { firstName, lastName }, ...formErrors(body, []) };
}

/** The hidden `version` field: a positive integer, sent once. */
export function parseVersion(raw: unknown): number | undefined {
  return versionSchema.safeParse(raw).data;
}
