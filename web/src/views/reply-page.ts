import type { FastifyInstance, FastifyReply } from "fastify";
import fp from "fastify-plugin";
import type { HtmlValue } from "./html.js";
import { page } from "./layout.js";

export interface RenderOptions {
  readonly title: string;
  readonly body: HtmlValue;
  readonly section?: "home" | "users" | "privacy";
  /** Default 200. */
  readonly status?: number;
}

declare module "fastify" {
  interface FastifyReply {
    /** Sends a full HTML page in the site layout. */
    render(options: RenderOptions): FastifyReply;
  }
}

/** What every HTML page carries besides the site's fixed headers: pages are never cached. */
export const PAGE_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ["content-type", "text/html; charset=utf-8"],
  ["cache-control", "no-store"],
];

export interface ReplyPageOptions {
  readonly instanceId: string;
}

/** Every page goes through one layout, with the instance id that served it in the footer. */
export const replyPagePlugin = fp(
  async (app: FastifyInstance, options: ReplyPageOptions) => {
    app.decorateReply("render", function render(this: FastifyReply, o: RenderOptions) {
      // `session` is decorated by the auth plugin, registered after this one.
      const session = (this.request as { session?: { sub: string; email?: string } | null })
        .session;
      const account =
        session && typeof this.request.csrfToken === "function"
          ? { name: session.email ?? session.sub, csrf: this.request.csrfToken(this) }
          : undefined;
      for (const [name, value] of PAGE_HEADERS) this.header(name, value);
      return this.code(o.status ?? 200).send(
        page({
          title: o.title,
          body: o.body,
          instanceId: options.instanceId,
          ...(o.section ? { section: o.section } : {}),
          ...(account ? { account } : {}),
        }),
      );
    });
  },
  { name: "reply-page" },
);
