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
}

/** Per-dependency budget of /health/ready: well inside the ALB health check's 5 s timeout. */
const READINESS_CHECK_TIMEOUT_MS = 2000;

/** Outcome of one dependency probe; `error` goes to the log only, never into the answer. */
async function check(
  name: string,
  probe: (signal: AbortSignal) => Promise<void>,
  timeoutMs: number,
) {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(controller.signal),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new Error(`no answer within ${timeoutMs} ms`);
          controller.abort(error);
          reject(error);
        }, timeoutMs);
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

/** 127.0.0.0/8 and ::1, plain or IPv4-mapped. */
export function isLoopback(address: string): boolean {
  const plain = address.startsWith("::ffff:") ? address.slice(7) : address;
  return plain === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

export async function homeRoutes(app: FastifyInstance, options: HomeRoutesOptions): Promise<void> {
  const { instanceId, users, keyRing } = options;

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

  // Never shed: liveness and readiness must answer truthfully under load too.
  const unshed = { config: { shed: false } } as const;

  app.get("/health", unshed, async (_request, reply) =>
    reply.header("cache-control", "no-store").send({ status: "ok", instance: instanceId }),
  );

  // Readiness is for the instance itself (ValidateService through nginx on 127.0.0.1) and the
  // local balancer's direct checks. request.ip is the client as the trusted proxies report it,
  // so a request that came from outside through nginx or the ALB is not loopback even though its
  // socket is; nginx refuses the path as well (deploy/nginx/fleetline.conf). A 404, not a 403:
  // outside, the route does not exist.
  app.get("/health/ready", unshed, async (request, reply) => {
    if (!isLoopback(request.ip)) {
      return reply.callNotFound();
    }
    const results = await Promise.all([
      check("dynamodb", (signal) => users.ping({ signal }), READINESS_CHECK_TIMEOUT_MS),
      check("keystore", () => keyRing.ping(), READINESS_CHECK_TIMEOUT_MS),
    ]);
    const failing = results.filter((r) => !r.ok);
    if (failing.length > 0) request.log.warn({ failing }, "not ready");
    // ok/down only: an error text would tell any reader addresses, and on AWS an IAM error
    // names the account and the role. The log above has the reason.
    const checks = Object.fromEntries(results.map((r) => [r.name, r.ok ? "ok" : "down"]));
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
