import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { Html, html } from "../views/html.js";
import { prerender } from "../views/prerender.js";
import { UserNotFoundError, VersionConflictError } from "./errors.js";
import type { UsersRepository } from "./repository.js";
import type { User } from "./user.js";
import { parseVersion, validateUserForm } from "./validation.js";
import { deleteConfirm, editConflict, userForm, usersList } from "./views.js";

export interface UsersRoutesOptions {
  readonly users: UsersRepository;
  readonly pageSize: number;
}

type IdParams = { readonly id: string };
type FormBody = Record<string, unknown> | undefined;

class BadFormError extends Error {
  readonly statusCode = 400;
}

function versionOf(body: FormBody): number {
  const version = parseVersion(body?.version);
  if (version === undefined) {
    throw new BadFormError("The form is missing its version field; reload the page and try again.");
  }
  return version;
}

function single(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

export async function usersRoutes(
  app: FastifyInstance,
  options: UsersRoutesOptions,
): Promise<void> {
  const { users, pageSize } = options;

  async function load(request: FastifyRequest, id: string): Promise<User> {
    const user = await users.get(id, { signal: request.deadline() });
    if (!user) throw new UserNotFoundError(id);
    return user;
  }

  // Every route that waits on the store says so: load shedding refuses them first.
  const store = { config: { usesStore: true } } as const;

  app.get(
    "/users",
    store,
    async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply) => {
      const cursor = single(request.query.cursor);
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
          notice: single(request.query.done),
        }),
      });
    },
  );

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
  app.get("/users/new", async (request, reply) =>
    reply.render({
      title: "Create a user",
      section: "users",
      body: new Html(newUserBody({ csrf: request.csrfToken(reply) })),
    }),
  );

  app.post(
    "/users",
    store,
    async (request: FastifyRequest<{ Body: FormBody }>, reply: FastifyReply) => {
      const result = validateUserForm(request.body);
      if (!result.value) {
        return reply.render({
          status: 400,
          title: "Create a user",
          section: "users",
          body: html`<h1>Create a user</h1>${userForm({
            action: "/users",
            csrf: request.csrfToken(reply),
            state: { values: result.entered, errors: result.errors },
            submitLabel: "Create",
          })}`,
        });
      }
      const user = await users.create(result.value, { signal: request.deadline() });
      request.log.info({ userId: user.id }, "user created");
      return reply.redirect("/users?done=created", 303);
    },
  );

  app.get(
    "/users/:id/edit",
    store,
    async (request: FastifyRequest<{ Params: IdParams }>, reply) => {
      const user = await load(request, request.params.id);
      return reply.render({
        title: "Edit a user",
        section: "users",
        body: html`<h1>Edit a user</h1>${userForm({
          action: `/users/${user.id}`,
          csrf: request.csrfToken(reply),
          state: { values: { firstName: user.firstName, lastName: user.lastName } },
          submitLabel: "Save",
          version: user.version,
        })}`,
      });
    },
  );

  app.post(
    "/users/:id",
    store,
    async (request: FastifyRequest<{ Params: IdParams; Body: FormBody }>, reply: FastifyReply) => {
      const { id } = request.params;
      const result = validateUserForm(request.body);
      const version = versionOf(request.body);
      if (!result.value) {
        await load(request, id); // a bad form for a user that is gone is a 404, not a 400
        return reply.render({
          status: 400,
          title: "Edit a user",
          section: "users",
          body: html`<h1>Edit a user</h1>${userForm({
            action: `/users/${id}`,
            csrf: request.csrfToken(reply),
            state: { values: result.entered, errors: result.errors },
            submitLabel: "Save",
            version,
          })}`,
        });
      }
      try {
        await users.update(id, version, result.value, { signal: request.deadline() });
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
            attempted: result.value,
            csrf: request.csrfToken(reply),
          }),
        });
      }
      request.log.info({ userId: id }, "user updated");
      return reply.redirect("/users?done=updated", 303);
    },
  );

  app.get(
    "/users/:id/delete",
    store,
    async (request: FastifyRequest<{ Params: IdParams }>, reply) => {
      const user = await load(request, request.params.id);
      return reply.render({
        title: "Delete a user",
        section: "users",
        body: deleteConfirm(user, request.csrfToken(reply)),
      });
    },
  );

  app.post(
    "/users/:id/delete",
    store,
    async (request: FastifyRequest<{ Params: IdParams; Body: FormBody }>, reply: FastifyReply) => {
      const { id } = request.params;
      const version = versionOf(request.body);
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
