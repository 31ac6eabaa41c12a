import { signInOverHttp } from "../../src/sign-in-client.js";

/**
 * Just enough of a browser to drive the web's forms over HTTP: signs in through the real
 * OpenID flow, keeps the cookies, reads the hidden anti-forgery field, posts url-encoded forms
 * without following redirects.
 */
export class SiteClient {
  private readonly jar = new Map<string, string>();

  constructor(private readonly baseUrl: string) {}

  private get cookie(): string {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  /** Signs in as the stack's dev operator (the local OpenID provider's login page). */
  async signIn(operator: { readonly email: string; readonly password: string }): Promise<this> {
    const { cookie } = await signInOverHttp({ siteUrl: this.baseUrl, ...operator });
    const eq = cookie.indexOf("=");
    this.jar.set(cookie.slice(0, eq), cookie.slice(eq + 1));
    return this;
  }

  async get(path: string): Promise<{ status: number; servedBy: string; body: string }> {
    const res = await fetch(new URL(path, this.baseUrl), {
      headers: this.cookie ? { cookie: this.cookie } : {},
      redirect: "manual",
    });
    this.remember(res);
    return {
      status: res.status,
      servedBy: res.headers.get("x-served-by") ?? "",
      body: await res.text(),
    };
  }

  async post(
    path: string,
    fields: Readonly<Record<string, string>>,
  ): Promise<{ status: number; servedBy: string; location: string; body: string }> {
    const res = await fetch(new URL(path, this.baseUrl), {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        origin: this.baseUrl,
        ...(this.cookie ? { cookie: this.cookie } : {}),
      },
      body: new URLSearchParams(fields).toString(),
      redirect: "manual",
    });
    this.remember(res);
    return {
      status: res.status,
      servedBy: res.headers.get("x-served-by") ?? "",
      location: res.headers.get("location") ?? "",
      body: await res.text(),
    };
  }

  /** GET the new-user form, then POST it; returns both responses' instances and the POST status. */
  async createUser(firstName: string, lastName: string) {
    const form = await this.get("/users/new");
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1];
    if (!csrf) throw new Error(`no _csrf field in /users/new (status ${form.status})`);
    const post = await this.post("/users", { firstName, lastName, _csrf: csrf });
    return { formServedBy: form.servedBy, postServedBy: post.servedBy, ...post };
  }

  private remember(res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const pair = header.split(";")[0] ?? "";
      const eq = pair.indexOf("=");
      if (eq < 1) continue;
      const value = pair.slice(eq + 1);
      if (value === "") this.jar.delete(pair.slice(0, eq));
      else this.jar.set(pair.slice(0, eq), value);
    }
  }
}
