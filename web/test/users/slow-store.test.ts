import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import type { AppConfig } from "../../src/app.js";
import { UsersRepository } from "../../src/users/repository.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createUsersTable, type RunningDynalite, startDynalite } from "../helpers/dynalite.js";
import { FaultyProxy } from "../helpers/faulty-proxy.js";

// The real SDK, over real sockets, through a proxy that stalls, slows or resets DynamoDB's
// answers (dynalite behind it): the bounds and the recovery are the SDK's and ours, not a mock's.
const ATTEMPT_MS = 300;
const DEADLINE_MS = 1000;
/** Scheduling slack on a shared 2-core machine. */
const SLACK_MS = 400;

interface Stack extends TestApp {
  readonly proxy: FaultyProxy;
}

/** The test app on the shared dynalite, its repository reaching it through a FaultyProxy. */
async function startStack(
  dynalite: RunningDynalite,
  options: {
    maxInFlight?: number;
    attemptTimeoutMs?: number;
    slowMs?: number;
    resetAfterBytes?: number;
    config?: Partial<AppConfig>;
  } = {},
): Promise<Stack> {
  const proxy = await FaultyProxy.start({
    target: { host: "127.0.0.1", port: dynalite.port },
    slowMs: options.slowMs ?? 2000,
    resetAfterBytes: options.resetAfterBytes ?? 20,
  });
  const s = await startTestApp(
    { REQUEST_DEADLINE_MS: DEADLINE_MS, ...options.config },
    {
      dynalite,
      instanceId: "slow-1",
      users: () =>
        new UsersRepository({
          tableName: "Users",
          region: "us-east-1",
          endpoint: proxy.url,
          attemptTimeoutMs: options.attemptTimeoutMs ?? ATTEMPT_MS,
          connectTimeoutMs: ATTEMPT_MS,
          maxAttempts: 2,
          maxInFlight: options.maxInFlight ?? 100,
        }),
    },
  );
  return {
    ...s,
    proxy,
    async close() {
      await s.close();
      await proxy.close();
    },
  };
}

/** n concurrent GET /users; each answer's status, page title and time. */
async function burst(app: Pick<TestApp, "inject">, n: number, url = "/users") {
  const started = performance.now();
  return Promise.all(
    Array.from({ length: n }, async () => {
      const res = await app.inject({ url });
      return {
        status: res.statusCode,
        retryAfter: res.headers["retry-after"],
        title: /<title>([^<]*)<\/title>/.exec(res.body)?.[1] ?? "",
        ms: performance.now() - started,
      };
    }),
  );
}

/** Time until `n` concurrent GET /users all answer 200, polling every 50 ms. */
async function timeToRecover(
  app: Pick<TestApp, "inject">,
  n: number,
  limitMs: number,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const answers = await burst(app, n);
    if (answers.every((a) => a.status === 200)) return performance.now() - started;
    assert.ok(performance.now() - started < limitMs, `not recovered after ${limitMs} ms`);
    await delay(50);
  }
}

let dynalite: RunningDynalite;
before(async () => {
  dynalite = await startDynalite();
  await createUsersTable(dynalite.endpoint);
});
after(() => dynalite.stop());

describe("DynamoDB that accepts connections and never answers", () => {
  test("every request gets the 503 page within the deadline, hung sockets are destroyed, and it serves again at once when DynamoDB answers", async (t) => {
    const s = await startStack(dynalite);
    t.after(() => s.close());
    // Warm the pool: the stall then hits keep-alive sockets the SDK already holds.
    assert.ok((await burst(s, 10)).every((a) => a.status === 200));

    s.proxy.setMode("blackhole");
    const answers = await burst(s, 60);
    const slowest = Math.max(...answers.map((a) => a.ms));
    t.diagnostic(`60 concurrent, store black-holed: slowest answer ${slowest.toFixed(0)} ms`);
    assert.deepEqual(
      [...new Set(answers.map((a) => `${a.status} ${a.title} retry-after=${a.retryAfter}`))],
      ["503 Store unavailable · fleetline retry-after=5"],
    );
    assert.ok(slowest < DEADLINE_MS + SLACK_MS, `slowest ${slowest} ms`);
    // The SDK destroyed every socket it had waiting on the silent store: none stays in its pool.
    await delay(100);
    assert.equal(s.proxy.open.stalled, 0, "black-holed sockets still open (pool poisoned)");
    assert.ok(s.proxy.clientClosedWhileStalled > 0);
    assert.equal(s.users.inFlight, 0);

    s.proxy.setMode("pass");
    const recovery = await timeToRecover(s, 20, 3000);
    t.diagnostic(`recovered: 20 concurrent all 200 after ${recovery.toFixed(0)} ms`);
    assert.ok(recovery < 1000, `recovery took ${recovery} ms`);
  });
});

describe("each bound on its own", () => {
  test("a call without a request deadline ends after its attempts (the attempt timeout really aborts)", {
    timeout: 10_000,
  }, async (t) => {
    const s = await startStack(dynalite);
    t.after(() => s.close());
    s.proxy.setMode("blackhole");
    const started = performance.now();
    await assert.rejects(s.users.list(5), { name: "StoreUnavailableError" });
    const ms = performance.now() - started;
    // 2 attempts of 300 ms plus the SDK's backoff between them.
    assert.ok(ms >= 2 * ATTEMPT_MS && ms < 2 * ATTEMPT_MS + SLACK_MS + 200, `took ${ms} ms`);
  });

  test("the request deadline caps the total even when one attempt alone would take longer", async (t) => {
    const s = await startStack(dynalite, { attemptTimeoutMs: 5 * DEADLINE_MS });
    t.after(() => s.close());
    s.proxy.setMode("blackhole");
    const answers = await burst(s, 5);
    assert.ok(answers.every((a) => a.status === 503));
    const slowest = Math.max(...answers.map((a) => a.ms));
    assert.ok(slowest >= DEADLINE_MS - 50 && slowest < DEADLINE_MS + SLACK_MS, `${slowest} ms`);
    await delay(100);
    assert.equal(s.proxy.open.stalled, 0, "aborted requests left their sockets open");
  });
});

describe("DynamoDB that answers after the deadline", () => {
  test("the page does not wait for the late answer, and the next requests succeed once it is fast again", async (t) => {
    const s = await startStack(dynalite, { slowMs: 2 * DEADLINE_MS });
    t.after(() => s.close());
    s.proxy.setMode("slow");
    const answers = await burst(s, 10);
    const slowest = Math.max(...answers.map((a) => a.ms));
    assert.ok(
      answers.every((a) => a.status === 503),
      JSON.stringify(answers),
    );
    assert.ok(slowest < DEADLINE_MS + SLACK_MS, `slowest ${slowest} ms`);
    s.proxy.setMode("pass");
    const recovery = await timeToRecover(s, 10, 3000);
    assert.ok(recovery < 1000, `recovery took ${recovery} ms`);
  });
});

describe("DynamoDB that resets mid-response", () => {
  for (const resetAfterBytes of [20, 300]) {
    test(`a reset after ${resetAfterBytes} bytes of the answer is a 503 page, never a 500, and the next requests succeed`, async (t) => {
      const s = await startStack(dynalite, { resetAfterBytes });
      t.after(() => s.close());
      // Enough users that the Scan's answer is longer than its headers: 300 bytes is mid-body.
      for (let i = 0; i < 3; i++) {
        await s.users.create({ firstName: `Reset${i}`, lastName: "Target".repeat(5) });
      }
      s.proxy.setMode("reset");
      const answers = await burst(s, 5);
      assert.deepEqual([...new Set(answers.map((a) => a.status))], [503]);
      assert.ok(Math.max(...answers.map((a) => a.ms)) < DEADLINE_MS + SLACK_MS);
      s.proxy.setMode("pass");
      assert.ok((await burst(s, 5)).every((a) => a.status === 200));
    });
  }
});

describe("load shedding", () => {
  test("over the in-flight cap, store requests are refused at once with Retry-After while pages without the store still work", async (t) => {
    const s = await startStack(dynalite, { maxInFlight: 3 });
    t.after(() => s.close());
    s.proxy.setMode("blackhole");
    const first = burst(s, 3); // fills the cap, hangs until the deadline
    await delay(250); // > under-pressure's 100 ms sampling
    const shed = await burst(s, 5);
    assert.deepEqual(
      [...new Set(shed.map((a) => `${a.status} ${a.title} ${a.retryAfter}`))],
      ["503 Busy · fleetline 5"],
    );
    assert.ok(Math.max(...shed.map((a) => a.ms)) < 200, "shed requests must not wait");
    assert.equal((await s.inject({ url: "/" })).statusCode, 200);
    assert.equal((await s.inject({ url: "/health" })).statusCode, 200);
    assert.ok((await first).every((a) => a.status === 503 && a.title.startsWith("Store")));
    s.proxy.setMode("pass");
    await delay(250);
    assert.ok((await burst(s, 3)).every((a) => a.status === 200));
  });

  test("the repository's own cap refuses the call over it even between two samples", async (t) => {
    const s = await startStack(dynalite, { maxInFlight: 2 });
    t.after(() => s.close());
    s.proxy.setMode("blackhole");
    const answers = await burst(s, 5); // all at once, before any sample saw the cap
    const busy = answers.filter((a) => a.title.startsWith("Busy"));
    assert.equal(busy.length, 3, JSON.stringify(answers));
    assert.ok(busy.every((a) => a.status === 503 && a.ms < 200));
  });

  test("when the event loop lags, requests are shed with Retry-After, liveness is not, and it passes once the lag is gone", async (t) => {
    const s = await startStack(dynalite, { config: { MAX_EVENT_LOOP_DELAY_MS: 150 } });
    t.after(() => s.close());
    // What a runaway computation does: the loop is blocked 300 ms at a time, over and over.
    let lagging = true;
    const lagger = (async () => {
      while (lagging) {
        const until = Date.now() + 300;
        while (Date.now() < until) {
          // busy
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    t.after(async () => {
      lagging = false;
      await lagger;
    });
    await delay(1300); // more than one of under-pressure's 1 s windows of the lagging loop
    const res = await s.inject({ url: "/users" });
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers["retry-after"], "5");
    assert.match(res.body, /This server is busy/);
    assert.equal((await s.inject({ url: "/" })).statusCode, 503);
    assert.equal((await s.inject({ url: "/health" })).statusCode, 200);
    lagging = false;
    await lagger;
    await delay(1300);
    assert.equal((await s.inject({ url: "/users" })).statusCode, 200);
  });
});

describe("the request deadline's start", () => {
  test("a slow upload does not use up the store's budget: the deadline counts from the read body", async (t) => {
    const s = await startStack(dynalite);
    t.after(() => s.close());
    const address = await s.app.listen({ port: 0, host: "127.0.0.1" });
    const page = await fetch(`${address}/users/new`, { headers: { cookie: s.cookie } });
    const html = await page.text();
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
    const cookie = [s.cookie, ...page.headers.getSetCookie().map((c) => c.split(";")[0])].join(
      "; ",
    );
    const body = new URLSearchParams({
      _csrf: token,
      firstName: "Slow",
      lastName: "Upload",
    }).toString();
    // The body arrives in two halves, DEADLINE_MS + 300 ms apart.
    const socket = connect(Number(new URL(address).port), "127.0.0.1");
    t.after(() => socket.destroy());
    let answer = "";
    socket.on("data", (c: Buffer) => {
      answer += c.toString();
    });
    socket.write(
      `POST /users HTTP/1.1\r\nhost: ${new URL(address).host}\r\ncookie: ${cookie}\r\n` +
        `content-type: application/x-www-form-urlencoded\r\ncontent-length: ${body.length}\r\n\r\n` +
        body.slice(0, 10),
    );
    await delay(DEADLINE_MS + 300);
    socket.write(body.slice(10));
    const deadline = Date.now() + 3000;
    while (!answer.includes("\r\n\r\n")) {
      assert.ok(Date.now() < deadline, "no answer");
      await delay(20);
    }
    assert.match(answer, /^HTTP\/1\.1 303 /);
  });
});
