import { generateKeyPairSync, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { escapeHtml } from "@fleetline/web/html";
import type { Configuration, KoaContextWithOIDC } from "oidc-provider";
import { createLocalMemoryAdapter } from "./oidc-memory-adapter.js";

/** The dev operator who can sign in locally. */
export interface DevOperator {
  readonly email: string;
  readonly password: string;
}

export interface LocalOidcProviderOptions {
  /** Address to listen on; default 127.0.0.1 (plain http is accepted by the web for loopback only). */
  readonly host?: string;
  /** 0 picks a free port; default 0. */
  readonly port?: number;
  /** The web's client id; default "fleetline-local". */
  readonly clientId?: string;
  /** Origins the web is reached at: each gets `<origin>/auth/callback` and `<origin>/` registered. */
  readonly webOrigins: readonly string[];
  /**
   * Where the dev operator's credentials persist (JSON); created with a random password when
   * missing. Undefined: a fresh operator for this run only.
   */
  readonly operatorFile?: string;
}

export interface LocalOidcProvider {
  /** e.g. http://127.0.0.1:41234 — what the web's OIDC_ISSUER is set to. */
  readonly issuer: string;
  readonly clientId: string;
  readonly operator: DevOperator;
  stop(): Promise<void>;
}

const DEV_EMAIL = "operator@fleetline.local";
const DEV_SUBJECT = "dev-operator";

/**
 * Generated once per checkout rather than fixed in the repository: a password printed in a
 * public README would open every stack someone exposes by mistake (`--host 0.0.0.0`, a tunnel).
 * Kept under .fleetline/ so it survives restarts and a browser's saved password keeps working.
 */
function loadOrCreateOperator(file: string | undefined): DevOperator {
  const fresh = (): DevOperator => ({
    email: DEV_EMAIL,
    password: randomBytes(12).toString("base64url"),
  });
  if (file === undefined) return fresh();
  try {
    const saved = JSON.parse(readFileSync(file, "utf8")) as Partial<DevOperator>;
    if (typeof saved.email === "string" && typeof saved.password === "string") {
      return { email: saved.email, password: saved.password };
    }
  } catch {
    // missing or unreadable: make a new one below
  }
  const operator = fresh();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${JSON.stringify(operator, null, 2)}\n`, { mode: 0o600 });
  return operator;
}

function equalSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f6f8;color:#1b2430;margin:0}
main{max-width:22rem;margin:4rem auto;padding:1.5rem 2rem;background:#fff;border:1px solid #d5dbe1;border-radius:8px}
h1{font-size:1.3rem}label{display:block;margin:.75rem 0 .25rem}input{width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1rem;background:#1f4e79;color:#fff;border:0;border-radius:4px;cursor:pointer}
.error{color:#a4161a}.note{color:#5b6670;font-size:.9rem}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · fleetline local sign-in</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

function loginPage(uid: string, error?: string): string {
  return page(
    "Sign in",
    `<h1>Sign in to fleetline</h1>
<p class="note">Local OpenID provider (what Cognito is on AWS). The dev operator's e-mail and
password are printed by <code>npm start</code>.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ""}
<form method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="on">
<label for="email">E-mail</label><input id="email" name="email" type="email" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  );
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16_384) throw new Error("form too large");
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function send(res: ServerResponse, status: number, html: string, formTargets = ""): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    // form-action governs the redirects after a submit too: a login ends at the web's callback.
    "content-security-policy": `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${formTargets}; frame-ancestors 'none'`,
    "x-content-type-options": "nosniff",
  });
  res.end(html);
}

/**
 * A real OpenID Connect provider (`oidc-provider`, the certified Node implementation) for the
 * local stack, so the web signs in through the same code path as against Cognito: discovery,
 * authorization code with PKCE, ID token signed with the provider's keys, RP-initiated logout.
 * One public client (no secret, PKCE required, as Cognito's app client), one dev operator,
 * and a login page of its own; consent is granted without asking, as Cognito's managed login
 * does for the app's own client.
 */
export async function startLocalOidcProvider(
  options: LocalOidcProviderOptions,
): Promise<LocalOidcProvider> {
  const host = options.host ?? "127.0.0.1";
  const clientId = options.clientId ?? "fleetline-local";
  const operator = loadOrCreateOperator(options.operatorFile);
  const formTargets = options.webOrigins.join(" ");

  // Listen first: the issuer must name the real port, and the provider is built for it.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503).end();
  };
  const server: Server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = `http://${host}:${port}`;

  const configuration: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_name: "fleetline",
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code"],
        response_types: ["code"],
        redirect_uris: options.webOrigins.map((o) => `${o}/auth/callback`),
        post_logout_redirect_uris: options.webOrigins.map((o) => `${o}/`),
      },
    ],
    async findAccount(_ctx, sub) {
      if (sub !== DEV_SUBJECT) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, email: operator.email, email_verified: true }),
      };
    },
    claims: { openid: ["sub"], email: ["email", "email_verified"] },
    scopes: ["openid", "email"],
    // Fresh per start: nothing of the provider's needs to outlive it locally (the web reads the
    // ID token's signing key from the JWKS on each sign-in it cannot verify).
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    jwks: {
      keys: [
        {
          ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
            format: "jwk",
          }),
          kid: randomBytes(8).toString("hex"),
          use: "sig",
          alg: "RS256",
        },
      ],
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx: KoaContextWithOIDC, form: string) {
          ctx.type = "html";
          ctx.body = page(
            "Sign out",
            `<h1>Sign out of the local provider?</h1>${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Sign out</button>`,
          );
        },
        async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
          ctx.type = "html";
          ctx.body = page("Signed out", "<h1>Signed out</h1>");
        },
      },
    },
    async renderError(ctx, out) {
      ctx.type = "html";
      ctx.body = page(
        "Error",
        `<h1>Sign-in error</h1><p class="error">${escapeHtml(String(out.error ?? "error"))}: ${escapeHtml(String(out.error_description ?? ""))}</p>`,
      );
    },
    // Cognito puts the e-mail in the ID token; so does this provider, or the header shows the subject.
    conformIdTokenClaims: false,
    adapter: createLocalMemoryAdapter(),
    ttl: {
      Session: 8 * 3600,
      Interaction: 15 * 60,
      Grant: 8 * 3600,
      AccessToken: 3600,
      IdToken: 3600,
    },
  };
  // Imported here, not at the top: oidc-provider warns on import under Node 20 (it asks for 22+,
  // yet runs and is tested here), and a stack that fails early (a busy port) should print only
  // its one-line error.
  const { default: Provider } = await import("oidc-provider");
  const provider = new Provider(issuer, configuration);
  // Keep its console quiet; errors reach the caller as pages and failed sign-ins.
  provider.on("server_error", () => {});
  const oidcCallback = provider.callback();

  handler = (req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(
      (req.url ?? "").split("?")[0] ?? "",
    );
    if (match === null) {
      oidcCallback(req, res);
      return;
    }
    interaction(req, res, Boolean(match[2])).catch((err: unknown) => {
      if (!res.headersSent) {
        send(
          res,
          400,
          page(
            "Sign-in error",
            `<h1>Sign-in error</h1><p class="error">${escapeHtml(err instanceof Error ? err.message : String(err))}</p><p>Go back to the site and sign in again.</p>`,
          ),
        );
      } else res.end();
    });
  };

  async function interaction(req: IncomingMessage, res: ServerResponse, login: boolean) {
    const details = await provider.interactionDetails(req, res);
    if (login && req.method === "POST") {
      const form = await readForm(req);
      const email = form.get("email") ?? "";
      const password = form.get("password") ?? "";
      // Both compared, always, so the answer takes as long for a wrong e-mail as for a wrong password.
      const emailOk = equalSecret(email.trim().toLowerCase(), operator.email);
      const passwordOk = equalSecret(password, operator.password);
      if (!(emailOk && passwordOk)) {
        send(res, 401, loginPage(details.uid, "Wrong e-mail or password."), formTargets);
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: DEV_SUBJECT } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (req.method !== "GET") {
      send(res, 405, page("Not allowed", "<h1>Not allowed</h1>"), formTargets);
      return;
    }
    if (details.prompt.name === "login") {
      send(res, 200, loginPage(details.uid), formTargets);
      return;
    }
    // consent: grant what the client asked for (its own operator, its own app).
    const accountId = details.session?.accountId;
    const clientIdOf = details.params.client_id;
    if (typeof accountId !== "string" || typeof clientIdOf !== "string") {
      throw new Error("interaction without a signed-in account");
    }
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId, clientId: clientIdOf });
    if (!grant) throw new Error("grant not found");
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: { grantId } },
      { mergeWithLastSubmission: true },
    );
  }

  return {
    issuer,
    clientId,
    operator,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
