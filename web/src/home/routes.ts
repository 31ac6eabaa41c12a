import type { FastifyInstance } from "fastify";
import type { KeyRing } from "../keyring/index.js";
import type { UsersRepository } from "../users/repository.js";
import { html } from "../views/html.js";

export interface HomeRoutesOptions {
  readonly instanceId: string;
  readonly users: UsersRepository;
  readonly keyRing: KeyRing;
  readonly keyStoreKind: string;
  readonly debugRoutes: boolean;
  /** Per-dependency budget of /health/ready; default 2000 ms (the ALB health check times out at 5 s). */
  readonly readinessTimeoutMs?: number;
}

async function check(name: string, probe: () => Promise<void>, timeoutMs: number) {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { name, ok: true as const };
  } catch (error) {
    return {
      name,
      ok: false as const,
      error: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

export async function homeRoutes(app: FastifyInstance, options: HomeRoutesOptions): Promise<void> {
  const { instanceId, users, keyRing } = options;
  const readinessTimeout = options.readinessTimeoutMs ?? 2000;

  app.get("/", async (request, reply) =>
    reply.render({
      title: "Home",
      section: "home",
      body: html`<h1>fleetline</h1>
<p class="lead">A users directory served by a fleet of identical instances behind a load balancer.</p>
<dl class="facts">
  <dt>Served by instance</dt><dd><code data-testid="instance-id">${instanceId}</code></dd>
  <dt>Your address</dt><dd><code data-testid="client-ip">${request.ip}</code></dd>
  <dt>Key ring store</dt><dd><code>${options.keyStoreKind}</code></dd>
</dl>
<p>Reload to see the load balancer at work: each request may be answered by a different instance.</p>
${
  options.keyStoreKind === "memory"
    ? html`<p class="warning" role="note">This instance keeps its signing keys in its own memory, as the
original system did before it shared them. A form served by one instance and posted to another is
rejected as expired: the other instance has never seen the key that signed it.</p>`
    : html`<p>Forms still work across instances because every instance signs and checks anti-forgery
tokens with the same shared key ring (<code>${options.keyStoreKind}</code> store).</p>`
}
<p><a class="button" href="/users">Manage users</a></p>`,
    }),
  );

  app.get("/health", async (_request, reply) =>
    reply.header("cache-control", "no-store").send({ status: "ok", instance: instanceId }),
  );

  app.get("/health/ready", async (request, reply) => {
    const results = await Promise.all([
      check("dynamodb", () => users.ping(), readinessTimeout),
      check("keystore", () => keyRing.ping(), readinessTimeout),
    ]);
    const failing = results.filter((r) => !r.ok);
    if (failing.length > 0) request.log.warn({ failing }, "not ready");
    const checks = Object.fromEntries(
      results.map((r) => [r.name, r.ok ? "ok" : `down: ${r.error}`]),
    );
    return reply
      .code(failing.length > 0 ? 503 : 200)
      .header("cache-control", "no-store")
      .send({ status: failing.length > 0 ? "unavailable" : "ready", instance: instanceId, checks });
  });

  app.get("/privacy", async (_request, reply) =>
    reply.render({
      title: "Privacy",
      section: "privacy",
      body: html`<h1>Privacy</h1>
<p>This demonstration stores the first and last names you enter, and nothing else, in a DynamoDB
table. Visitors get no cookie. Operators who sign in get <code>fleetline.session</code>
(<code>__Host-fleetline.session</code> over HTTPS): a signed session holding a random identifier,
the sign-in provider's subject and e-mail address, and the sign-in time; it is HttpOnly and ends
8 hours after signing in or at sign-out. While signing in, <code>fleetline.sign-in</code> holds
for at most 15 minutes what the sign-in provider's answer is checked against. Request logs hold
your IP address (also used, for a minute, to count requests against abuse limits) and are kept as
long as the operator's log retention says.</p>`,
    }),
  );

  if (options.debugRoutes) {
    app.get("/debug", async (request, reply) =>
      reply.render({
        title: "Debug",
        body: html`<h1>Request headers</h1>
<p>As received by <code>${instanceId}</code>; client address <code>${request.ip}</code>, protocol
<code>${request.protocol}</code>.</p>
<table><thead><tr><th scope="col">Header</th><th scope="col">Value</th></tr></thead><tbody>
${Object.entries(request.headers).map(
  ([name, value]) =>
    html`<tr><td><code>${name}</code></td><td><code>${name === "cookie" ? "(hidden)" : String(value)}</code></td></tr>`,
)}
</tbody></table>`,
      }),
    );
  }
}
