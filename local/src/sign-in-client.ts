/**
 * Signs in through the web's real OpenID flow over plain HTTP, as a browser would: the web's
 * /auth/sign-in, the provider's authorization endpoint, its login page, consent, and back to the
 * web's /auth/callback. For tests, benchmarks and scripts that drive the site without Chromium;
 * it knows the local provider's login form (`email`, `password`) and nothing else about it.
 */
export interface SignInResult {
  /** `name=value` of the web's session cookie, ready for a Cookie header. */
  readonly cookie: string;
  /** Where the web sent the browser after the callback (the return-to path). */
  readonly location: string;
  /** The Set-Cookie lines of the web's callback answer, as sent (attributes included). */
  readonly callbackSetCookie: readonly string[];
  /** Every request of the dance, in order, for assertions and failure messages. */
  readonly hops: ReadonlyArray<{
    readonly method: string;
    readonly url: string;
    readonly status: number;
  }>;
}

export interface SignInOptions {
  /** The site's origin as the browser reaches it, e.g. the load balancer's URL. */
  readonly siteUrl: string;
  readonly email: string;
  readonly password: string;
  /** Path to come back to; default none (the web's default, /users). */
  readonly returnTo?: string;
  /** Cookies already held for the site (name=value; …), sent along. */
  readonly siteCookies?: string;
}

/** Cookies by host:port; browsers scope by host only, but keeping the two apart changes nothing here. */
class CookieJar {
  readonly #byOrigin = new Map<string, Map<string, string>>();

  header(url: URL): string {
    const jar = this.#byOrigin.get(url.host);
    return jar ? [...jar].map(([k, v]) => `${k}=${v}`).join("; ") : "";
  }

  store(url: URL, response: Response): void {
    let jar = this.#byOrigin.get(url.host);
    if (!jar) {
      jar = new Map();
      this.#byOrigin.set(url.host, jar);
    }
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some(
        (a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a),
      );
      if (expired || value === "") jar.delete(name);
      else jar.set(name, value);
    }
  }

  get(url: URL, name: string): string | undefined {
    return this.#byOrigin.get(url.host)?.get(name);
  }
}

export async function signInOverHttp(options: SignInOptions): Promise<SignInResult> {
  const site = new URL(options.siteUrl);
  const jar = new CookieJar();
  const hops: Array<{ method: string; url: string; status: number }> = [];
  const start = new URL("/auth/sign-in", site);
  if (options.returnTo !== undefined) start.searchParams.set("returnTo", options.returnTo);

  let next: { url: URL; method: "GET" | "POST"; body?: string } = { url: start, method: "GET" };
  for (let hop = 0; hop < 20; hop++) {
    const { url, method, body } = next;
    const sameAsSite = url.host === site.host;
    const cookies = [jar.header(url), sameAsSite ? (options.siteCookies ?? "") : ""]
      .filter(Boolean)
      .join("; ");
    const res = await fetch(url, {
      method,
      redirect: "manual",
      headers: {
        ...(cookies && { cookie: cookies }),
        ...(body !== undefined && {
          "content-type": "application/x-www-form-urlencoded",
          origin: url.origin,
        }),
      },
      ...(body !== undefined && { body }),
    });
    hops.push({ method, url: url.href, status: res.status });
    jar.store(url, res);
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      const target = new URL(location, url);
      // Back on the site after the callback: done when the session cookie is set.
      if (sameAsSite && url.pathname === "/auth/callback") {
        const name = ["__Host-fleetline.session", "fleetline.session"].find((n) =>
          jar.get(site, n),
        );
        if (!name) throw new Error(`callback set no session cookie: ${describe(hops)}`);
        return {
          cookie: `${name}=${jar.get(site, name)}`,
          location,
          callbackSetCookie: res.headers.getSetCookie(),
          hops,
        };
      }
      next = { url: target, method: "GET" };
      continue;
    }
    const text = await res.text();
    const form = /<form[^>]*method="post"[^>]*action="([^"]*\/login)"/i.exec(text);
    if (res.status === 200 && form?.[1]) {
      next = {
        url: new URL(
          form[1].replace(/&#(\d+);/g, (_m, c: string) => String.fromCharCode(Number(c))),
          url,
        ),
        method: "POST",
        body: new URLSearchParams({ email: options.email, password: options.password }).toString(),
      };
      continue;
    }
    throw new Error(
      `sign-in stopped at ${method} ${url.href} → ${res.status}: ${text.slice(0, 300)}\n${describe(hops)}`,
    );
  }
  throw new Error(`sign-in did not finish in 20 requests: ${describe(hops)}`);
}

function describe(hops: ReadonlyArray<{ method: string; url: string; status: number }>): string {
  return hops.map((h) => `${h.method} ${h.url} ${h.status}`).join("\n  ");
}
