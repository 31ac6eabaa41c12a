import type { FastifySchemaCompiler, FastifyTypeProvider } from "fastify";
import type { z } from "zod";

// The shape of fastify-type-provider-zod (which supports Fastify 5 and zod 4), in the few lines
// this site needs: that package also requires @fastify/swagger and openapi-types as peers, for
// OpenAPI output we do not make.

/** Route schemas are zod schemas; a route's body, params and query are typed as their output. */
export interface ZodTypeProvider extends FastifyTypeProvider {
  validator: this["schema"] extends z.ZodType ? z.output<this["schema"]> : unknown;
  serializer: this["schema"] extends z.ZodType ? z.input<this["schema"]> : unknown;
}

/**
 * A request part its schema refused. The message is the schemas' own messages, written for the
 * person who sent the form or followed the link, so the 400 page can show it as it is.
 */
export class SchemaValidationError extends Error {
  override readonly name = "SchemaValidationError";
  readonly statusCode = 400;
  constructor(readonly issues: readonly z.core.$ZodIssue[]) {
    super([...new Set(issues.map((issue) => issue.message))].join(" "));
  }
}

/** Validates with the route's zod schema; the parsed value (trimmed, converted) replaces the input. */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema }) =>
  (data) => {
    const result = schema.safeParse(data);
    return result.success
      ? { value: result.data }
      : { error: new SchemaValidationError(result.error.issues) };
  };
