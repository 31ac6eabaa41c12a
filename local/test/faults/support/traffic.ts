// Steady client traffic during a fault: readers (GET /) and writers (POST /users with a valid
// token), every outcome recorded with its time, every acknowledged write (303) remembered.
import { setTimeout as delay } from "node:timers/promises";

/** A form's token and the session cookie it is bound to. */
export interface FormSession {
  readonly token: string;
  /** "name=value" for the Cookie header. */
  readonly cookie: string;
  /** The hidden version field, on edit forms. */
  readonly version?: string;
  /** The instance that served the form. */
  readonly servedBy?: string;
}

/** GETs a page with a form; throws unless it is a 200 with a token. */
export async function fetchForm(url: string, cookie?: string): Promise<FormSession> {
  const res = await fetch(url, {
    headers: cookie ? { cookie } : {},
    signal: AbortSignal.timeout(5000),
  });
  const body = await res.text();
  const token = /name="_csrf" value="([^"]+)"/.exec(body)?.[1];
  const fresh = res.headers.getSetCookie()[0]?.split(";")[0];
  const jar = fresh ?? cookie;
  if (res.status !== 200 || !token || !jar) {
    throw new Error(`no form at ${url} (status ${res.status}): ${body.slice(0, 300)}`);
  }
  const version = /name="version" value="([^"]+)"/.exec(body)?.[1];
  const servedBy = res.headers.get("x-served-by") ?? undefined;
  return {
    token,
    cookie: jar,
    ...(version ? { version } : {}),
    ...(servedBy ? { servedBy } : {}),
  };
}

export interface PostResult {
  readonly status: number;
  readonly body: string;
  readonly location?: string;
  readonly servedBy?: string;
}

/** POSTs a form as a browser would (url-encoded, same-origin); does not follow the redirect. */
export async function postForm(
  url: string,
  session: Pick<FormSession, "cookie">,
  fields: Readonly<Record<string, string>>,
): Promise<PostResult> {
  const res = await fetch(url, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: session.cookie },
    body: new URLSearchParams(fields).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await res.text();
  const location = res.headers.get("location") ?? undefined;
  const servedBy = res.headers.get("x-served-by") ?? undefined;
  return {
    status: res.status,
    body,
    ...(location ? { location } : {}),
    ...(servedBy ? { servedBy } : {}),
  };
}

export interface Outcome {
  /** ms since the traffic started. */
  readonly at: number;
  readonly kind: "read" | "write";
  /** HTTP status, or 0 when the request failed without one. */
  readonly status: number;
  readonly error?: string;
  readonly servedBy?: string;
}

export interface TrafficOptions {
  /** The load balancer's URL. */
  readonly url: string;
  /** Concurrent GET / loops; default 4. */
  readonly readers?: number;
  /** Concurrent POST /users loops; default 2. */
  readonly writers?: number;
  /** Unique per test, so acknowledged names can be found in the table afterwards. */
  readonly tag: string;
  /** The signed-in operator's session cookie (name=value); the writers post as that operator. */
  readonly cookie: string;
}

/** Client traffic until stop(); a request "fails" when it gets no 200 (read) or 303 (write). */
export class Traffic {
  readonly outcomes: Outcome[] = [];
  /** firstName of every write answered 303. */
  readonly acknowledged = new Set<string>();
  readonly #started = performance.now();
  #running = true;
  readonly #loops: Promise<void>[] = [];
  #counter = 0;

  private constructor(private readonly options: TrafficOptions) {}

  static async start(options: TrafficOptions): Promise<Traffic> {
    const traffic = new Traffic(options);
    const sessions = await Promise.all(
      Array.from({ length: options.writers ?? 2 }, () =>
        fetchForm(`${options.url}/users/new`, options.cookie),
      ),
    );
    for (let i = 0; i < (options.readers ?? 4); i++) traffic.#loops.push(traffic.#read());
    for (const session of sessions) traffic.#loops.push(traffic.#write(session));
    return traffic;
  }

  /** ms since start. */
  now(): number {
    return performance.now() - this.#started;
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }

  failures(from = 0, to = Number.POSITIVE_INFINITY): Outcome[] {
    return this.outcomes.filter(
      (o) => o.at >= from && o.at <= to && o.status !== (o.kind === "read" ? 200 : 303),
    );
  }

  count(kind?: Outcome["kind"]): number {
    return kind ? this.outcomes.filter((o) => o.kind === kind).length : this.outcomes.length;
  }

  #record(kind: Outcome["kind"], status: number, servedBy?: string, error?: string): void {
    this.outcomes.push({
      at: this.now(),
      kind,
      status,
      ...(servedBy ? { servedBy } : {}),
      ...(error ? { error } : {}),
    });
  }

  async #read(): Promise<void> {
    while (this.#running) {
      try {
        const res = await fetch(`${this.options.url}/`, { signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        this.#record("read", res.status, res.headers.get("x-served-by") ?? undefined);
      } catch (error) {
        this.#record("read", 0, undefined, error instanceof Error ? error.message : String(error));
        await delay(5);
      }
    }
  }

  async #write(session: FormSession): Promise<void> {
    while (this.#running) {
      const name = `${this.options.tag}-${++this.#counter}`;
      try {
        const res = await postForm(`${this.options.url}/users`, session, {
          firstName: name,
          lastName: "Fault",
          _csrf: session.token,
        });
        if (res.status === 303) this.acknowledged.add(name);
        this.#record("write", res.status, res.servedBy);
      } catch (error) {
        this.#record("write", 0, undefined, error instanceof Error ? error.message : String(error));
        await delay(5);
      }
    }
  }
}

/** Acknowledged names that are not in the table. */
export function missingWrites(
  acknowledged: ReadonlySet<string>,
  items: ReadonlyArray<Record<string, unknown>>,
): string[] {
  const stored = new Set(items.map((i) => i.firstName));
  return [...acknowledged].filter((name) => !stored.has(name));
}

/** "502×3, 0×1 (ECONNRESET)" — what the failures were, for the test's diagnostic line. */
export function describeFailures(failures: readonly Outcome[]): string {
  const counts = new Map<string, number>();
  for (const f of failures) {
    const key = f.status === 0 ? `no answer (${f.error ?? "?"})` : String(f.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k}×${n}`).join(", ") || "none";
}
