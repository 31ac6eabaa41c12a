import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { SchemaValidationError, validatorCompiler, type ZodTypeProvider } from "../route-schema.js";
import { Html, html } from "../views/html.js";
import { prerender } from "../views/prerender.js";
import { UserNotFoundError, VersionConflictError } from "./errors.js";
import type { UsersRepository } from "./repository.js";
import type { User } from "./user.js";
import {
  createUserBody,
  deleteUserBody,
  editUserBody,
  type FormErrors,
  formErrors,
  versionRefused,
} from "./validation.js";
import { deleteConfirm, editConflict, type FormState, userForm, usersList } from "./views.js";

export interface UsersRoutesOptions {
  readonly users: UsersRepository;
  readonly pageSize: number;
}

class BadFormError extends Error {
  readonly statusCode = 400;
}

const idParams = z.object({ id: z.string() });

const listQuery = z.object({
  cursor: z
    .string({ error: "That page link is not valid; start again from the first page." })
    .optional(),
  // Only ever set by our own redirects; anything else (sent twice, unknown) shows no notice.
  done: z.string().optional().catch(undefined),
});

/**
 * The schema's refusal of a form, if any. Validation errors are attached rather than thrown
 * (`attachValidation`), so the anti-forgery check (a preHandler) still runs before a bad form
 * is answered: a forged post is a 403 whatever it carries.
 */
function refusal(request: FastifyRequest): FormErrors | undefined {
  const error = request.validationError;
  if (error === undefined) return undefined;
  if (!(error instanceof SchemaValidationError)) throw error;
  const version = versionRefused(error.issues);
  if (version !== undefined) throw new BadFormError(version);
  return formErrors(request.body, error.issues);
}

/** The create or edit form, empty, filled from the store, or refilled after a refusal. */
function renderForm(
  request: FastifyRequest,
  reply: FastifyReply,
  form: { readonly state: FormState; readonly id?: string; readonly version?: number },
) {
  const editing = form.id !== undefined;
  const title = editing ? "Edit a user" : "Create a user";
  return reply.render({
    status: form.state.errors === undefined ? 200 : 400,
    title,
    section: "users",
    body: html`<h1>${title}</h1>${userForm({
      action: editing ? `/users/${form.id}` : "/users",
      csrf: request.csrfToken(reply),
      state: form.state,
      submitLabel: editing ? "Save" : "Create",
      ...(form.version !== undefined && { version: form.version }),
    })}`,
  });
}

// The empty form is the same for everyone but its token: rendered once (bench/README.md).
const newUserBody = prerender(
  ["csrf"],
  (m) =>
    html`<h1>Create a user</h1>${userForm({
      action: "/users",
      csrf: m.csrf,
      state: { values: { firstName: "", lastName: "" } },
      submitLabel: "Create",
    })}`,
);

export async function usersRoutes(
  fastify: FastifyInstance,
  options: UsersRoutesOptions,
): Promise<void> {
  const { users, pageSize } = options;
  // Scoped to this plugin: these routes' schemas are zod schemas.
  fastify.setValidatorCompiler(validatorCompiler);
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  async function load(request: FastifyRequest, id: string): Promise<User> {
    const user = await users.get(id, { signal: request.deadline() });
    if (!user) throw new UserNotFoundError(id);
    return user;
  }

  // Every route that waits on the store says so: load shedding refuses them first.
  const config = { usesStore: true } as const;

  app.get("/users", { config, schema: { querystring: listQuery } }, async (request, reply) => {
    const { cursor, done } = request.query;
    const result = await users.list(pageSize, cursor || undefined, {
      signal: request.deadline(),
    });
    return reply.render({
      title: "Users",
      section: "users",
      body: usersList({
        users: result.users,
        next: result.next,
        isFirstPage: !cursor,
        notice: done,
      }),
    });
  });

  app.get("/users/new", async (request, reply) =>
    reply.render({
      title: "Create a user",
      section: "users",
      body: new Html(newUserBody({ csrf: request.csrfToken(reply) })),
    }),
  );

  app.post(
    "/users",
    { config, attachValidation: true, schema: { body: createUserBody } },
    async (request, reply) => {
      const refused = refusal(request);
      if (refused) {
        return renderForm(request, reply, {
          state: { values: refused.entered, errors: refused.errors },
        });
      }
      const { firstName, lastName } = request.body;
      const user = await users.create({ firstName, lastName }, { signal: request.deadline() });
      request.log.info({ userId: user.id }, "user created");
      return reply.redirect("/users?done=created", 303);
    },
  );

  app.get("/users/:id/edit", { config, schema: { params: idParams } }, async (request, reply) => {
    const user = await load(request, request.params.id);
    return renderForm(request, reply, {
      state: { values: { firstName: user.firstName, lastName: user.lastName } },
      id: user.id,
      version: user.version,
    });
  });

  app.post(
    "/users/:id",
    { config, attachValidation: true, schema: { params: idParams, body: editUserBody } },
    async (request, reply) => {
      const { id } = request.params;
      const refused = refusal(request);
      if (refused) {
        await load(request, id); // a bad form for a user that is gone is a 404, not a 400
        return renderForm(request, reply, {
          state: { values: refused.entered, errors: refused.errors },
          id,
          version: Number((request.body as { version?: unknown }).version),
        });
      }
      const { firstName, lastName, version } = request.body;
      const fields = { firstName, lastName };
      try {
        await users.update(id, version, fields, { signal: request.deadline() });
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        request.log.info(
          { userId: id, expected: version, current: error.current.version },
          "edit refused: version conflict",
        );
        return reply.render({
          status: 409,
          title: "Edit conflict",
          section: "users",
          body: editConflict({
            current: error.current,
            attempted: fields,
            csrf: request.csrfToken(reply),
          }),
        });
      }
      request.log.info({ userId: id }, "user updated");
      return reply.redirect("/users?done=updated", 303);
    },
  );

  app.get("/users/:id/delete", { config, schema: { params: idParams } }, async (request, reply) => {
    const user = await load(request, request.params.id);
    return reply.render({
      title: "Delete a user",
      section: "users",
      body: deleteConfirm(user, request.csrfToken(reply)),
    });
  });

  app.post(
    "/users/:id/delete",
    { config, attachValidation: true, schema: { params: idParams, body: deleteUserBody } },
    async (request, reply) => {
      refusal(request); // the only field is the version: a refusal is a BadFormError
      const { id } = request.params;
      const { version } = request.body;
      try {
        await users.delete(id, version, { signal: request.deadline() });
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        request.log.info({ userId: id, expected: version }, "delete refused: version conflict");
        return reply.render({
          status: 409,
          title: "Delete conflict",
          section: "users",
          body: deleteConfirm(error.current, request.csrfToken(reply), true),
        });
      }
      request.log.info({ userId: id }, "user deleted");
      return reply.redirect("/users?done=deleted", 303);
    },
  );
}
