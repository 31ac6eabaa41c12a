import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Agent, type IncomingMessage, request } from "node:http";
import { connect } from "node:net";
import { describe, type TestContext, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { LoadBalancer, type LoadBalancerOptions } from "../src/load-balancer.js";
import { send, sha256, startServer } from "./support/http.js";

/** Fast health checks so transitions take tens of milliseconds. */
const fast: LoadBalancerOptions = {
  healthCheckIntervalMs: 40,
  healthCheckTimeoutMs: 200,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
};

async function startLb(t: TestContext, options: LoadBalancerOptions = {}) {
  const lb = new LoadBalancer({ ...fast, ...options });
  t.after(() => lb.close());
  const port = await lb.listen(0);
  return { lb, port };
}

/** A target that names itself in x-served-by, like the web does, and has a /health route. */
async function namedTarget(t: TestContext, id: string) {
  let healthy = true;
  const seen: IncomingMessage[] = [];
  const server = await startServer(t, (req, res) => {
    if (req.url === "/health") {
      res.writeHead(healthy ? 200 : 500).end(healthy ? "ok" : "sick");
      return;
    }
    seen.push(req);
    res.writeHead(200, { "x-served-by": id, "content-type": "application/json" });
    res.end(JSON.stringify({ id, headers: req.headers, url: req.url }));
  });
  return {
    ...server,
    id,
    seen,
    setHealthy: (value: boolean) => {
      healthy = value;
    },
  };
}

describe("LoadBalancer", { timeout: 30_000 }, () => {
  test("round robin alternates between healthy targets", async (t) => {
    const { lb, port } = await startLb(t);
    const a = await namedTarget(t, "a");
    const b = await namedTarget(t, "b");
    lb.register({ id: "a", host: "127.0.0.1", port: a.port });
    lb.register({ id: "b", host: "127.0.0.1", port: b.port });
    await lb.waitForHealthy("a", 2000);
    await lb.waitForHealthy("b", 2000);
    const served: string[] = [];
    for (let i = 0; i < 6; i += 1) {
      const reply = await send(port, "/");
      assert.equal(reply.status, 200);
      served.push(String(reply.headers["x-served-by"]));
    }
    assert.deepEqual(served.sort(), ["a", "a", "a", "b", "b", "b"]);
  });

  test("consecutive requests never hit the same target twice in a row", async (t) => {
    const { lb, port } = await startLb(t);
    const a = await namedTarget(t, "a");
    const b = await namedTarget(t, "b");
    lb.register({ id: "a", host: "127.0.0.1", port: a.port });
    lb.register({ id: "b", host: "127.0.0.1", port: b.port });
    await Promise.all([lb.waitForHealthy("a", 2000), lb.waitForHealthy("b", 2000)]);
    let last = "";
    for (let i = 0; i < 8; i += 1) {
      const servedBy = String((await send(port, "/")).headers["x-served-by"]);
      assert.notEqual(servedBy, last, `request ${i} went to ${servedBy} twice in a row`);
      last = servedBy;
    }
  });

  test("a target is initial until it passes the healthy threshold, then gets traffic", async (t) => {
    const { lb, port } = await startLb(t, { healthCheckIntervalMs: 150, healthyThreshold: 3 });
    const a = await namedTarget(t, "a");
    const started = Date.now();
    lb.register({ id: "a", host: "127.0.0.1", port: a.port });
    assert.equal(lb.targets()[0]?.state, "initial");
    const early = await send(port, "/");
    assert.equal(early.status, 503, "no traffic before the target is healthy");
    await lb.waitForHealthy("a", 3000);
    // Three passing checks 150 ms apart: the first runs at once, so at least ~300 ms.
    assert.ok(Date.now() - started >= 280, `healthy after ${Date.now() - started} ms`);
    assert.equal((await send(port, "/")).status, 200);
  });

  test("failing checks make a target unhealthy and passing ones bring it back", async (t) => {
    const { lb, port } = await startLb(t);
    const a = await namedTarget(t, "a");
    const b = await namedTarget(t, "b");
    lb.register({ id: "a", host: "127.0.0.1", port: a.port });
    lb.register({ id: "b", host: "127.0.0.1", port: b.port });
    await Promise.all([lb.waitForHealthy("a", 2000), lb.waitForHealthy("b", 2000)]);
    const transitions: string[] = [];
    lb.targetGroup.onStateChange((view) => transitions.push(`${view.id}:${view.state}`));

    a.setHealthy(false);
    await lb.waitForState("a", "unhealthy", 2000);
    for (let i = 0; i < 4; i += 1) {
      assert.equal((await send(port, "/")).headers["x-served-by"], "b");
    }
    a.setHealthy(true);
    await lb.waitForHealthy("a", 2000);
    const served = new Set<string>();
    for (let i = 0; i < 4; i += 1)
      served.add(String((await send(port, "/")).headers["x-served-by"]));
    assert.deepEqual([...served].sort(), ["a", "b"]);
    assert.deepEqual(transitions, ["a:unhealthy", "a:healthy"]);
  });

  test("a target that stops listening is marked unhealthy within interval x threshold", async (t) => {
    const { lb } = await startLb(t, { healthCheckIntervalMs: 100, unhealthyThreshold: 2 });
    const a = await namedTarget(t, "a");
    lb.register({ id: "a", host: "127.0.0.1", port: a.port });
    await lb.waitForHealthy("a", 2000);
    await a.kill();
    const killed = Date.now();
    await lb.waitForState("a", "unhealthy", 2000);
    const took = Date.now() - killed;
    assert.ok(took <= 2 * 100 + 150, `unhealthy after ${took} ms`);
  });

  test("503 page when no target is healthy", async (t) => {
    const { lb, port } = await startLb(t);
    const none = await send(port, "/users");
    assert.equal(none.status, 503);
    assert.match(String(none.headers["content-type"]), /text\/html/);
    assert.match(none.body.toString(), /No instance is registered/);

    const a = await namedTarget(t, "a");
    a.setHealthy(false);
    lb.register({ id: "a", host: "127.0.0.1", port: a.port });
    await lb.waitForState("a", "unhealthy", 2000);
    const sick = await send(port, "/");
    assert.equal(sick.status, 503);
    assert.match(sick.body.toString(), /None of the 1 registered instance\(s\) is passing/);
  });

  test("502 page when the target drops the connection before answering, and no second try on a fresh connection", async (t) => {
    const { lb, port } = await startLb(t);
    let hits = 0;
    const target = await startServer(t, (req, res) => {
      if (req.url === "/health") {
        res.end("ok");
        return;
      }
      hits += 1;
      req.socket.destroy();
    });
    lb.register({ id: "crashy", host: "127.0.0.1", port: target.port });
    await lb.waitForHealthy("crashy", 2000);
    const reply = await send(port, "/boom");
    assert.equal(reply.status, 502);
    assert.match(reply.body.toString(), /Instance crashy failed before answering/);
    // The request reached the target on a new connection: only a reused one may be stale.
    assert.equal(hits, 1, "sent once");
  });

  test("a target failing mid-body cuts the client connection instead of a truncated 200", async (t) => {
    const { lb, port } = await startLb(t);
    const target = await startServer(t, (req, res) => {
      if (req.url === "/health") {
        res.end("ok");
        return;
      }
      res.writeHead(200, { "content-length": "1000" });
      res.write("x".repeat(100));
      setTimeout(() => req.socket.destroy(), 20);
    });
    lb.register({ id: "a", host: "127.0.0.1", port: target.port });
    await lb.waitForHealthy("a", 2000);
    await assert.rejects(send(port, "/"), /aborted|socket hang up|ECONNRESET/);
  });

  test("504 page when the target does not answer within the target timeout", async (t) => {
    const { lb, port } = await startLb(t, { targetTimeoutMs: 300 });
    const target = await startServer(t, (req, res) => {
      if (req.url === "/health") res.end("ok");
      // otherwise never answer
    });
    lb.register({ id: "slow", host: "127.0.0.1", port: target.port });
    await lb.waitForHealthy("slow", 2000);
    const started = Date.now();
    const reply = await send(port, "/slow");
    assert.equal(reply.status, 504);
    assert.match(reply.body.toString(), /Instance slow did not answer within 0.3 s/);
    assert.ok(Date.now() - started >= 290);
  });

  test("sets X-Forwarded-For/-Proto/-Port like the ALB and keeps Host", async (t) => {
    const { lb, port } = await startLb(t);
    const a = await namedTarget(t, "a");
    lb.register({ id: "a", host: "127.0.0.1", port: a.port });
    await lb.waitForHealthy("a", 2000);

    const plain = JSON.parse((await send(port, "/x?y=1")).body.toString());
    assert.equal(plain.url, "/x?y=1");
    assert.equal(plain.headers["x-forwarded-for"], "127.0.0.1");
    assert.equal(plain.headers["x-forwarded-proto"], "http");
    assert.equal(plain.headers["x-forwarded-port"], String(port));
    assert.equal(plain.headers.host, `127.0.0.1:${port}`);
    assert.match(plain.headers["x-amzn-trace-id"], /^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);

    const spoofed = JSON.parse(
      (
        await send(port, "/", {
          headers: {
            host: "example.test",
            "x-forwarded-for": "203.0.113.7",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
            "x-forwarded-host": "evil.example",
            connection: "keep-alive, x-secret",
            "x-secret": "hop",
          },
        })
      ).body.toString(),
    );
    assert.equal(spoofed.headers["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert.equal(spoofed.headers["x-forwarded-proto"], "http");
    assert.equal(spoofed.headers["x-forwarded-port"], String(port));
    assert.equal(spoofed.headers.host, "example.test");
    assert.equal(
      spoofed.headers["x-forwarded-host"],
      undefined,
      "a client-sent X-Forwarded-Host would become the host the web trusts",
    );
    assert.equal(
      spoofed.headers["x-secret"],
      undefined,
      "headers named in Connection are hop-by-hop",
    );
  });

  test("streams a 5 MB response intact and starts it before the target finishes", async (t) => {
    const { lb, port } = await startLb(t);
    const payload = randomBytes(5 * 1024 * 1024);
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const target = await startServer(t, (req, res) => {
      if (req.url === "/health") {
        res.end("ok");
        return;
      }
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.write(payload.subarray(0, 64 * 1024));
      // The rest only after the client has seen the first bytes: proves nothing is buffered.
      void released.then(() => res.end(payload.subarray(64 * 1024)));
    });
    lb.register({ id: "a", host: "127.0.0.1", port: target.port });
    await lb.waitForHealthy("a", 2000);

    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/big", agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          release();
        });
        res.on("end", () => resolve(Buffer.concat(chunks)));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(body.length, payload.length);
    assert.equal(sha256(body), sha256(payload));
  });

  test("streams a request body to the target before the client has finished sending", async (t) => {
    const { lb, port } = await startLb(t);
    const upload = randomBytes(3 * 1024 * 1024);
    let firstChunkSeen: () => void = () => {};
    const firstChunk = new Promise<void>((resolve) => {
      firstChunkSeen = resolve;
    });
    const target = await startServer(t, (req, res) => {
      if (req.url === "/health") {
        res.end("ok");
        return;
      }
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => {
        chunks.push(c);
        firstChunkSeen();
      });
      req.on("end", () => {
        const all = Buffer.concat(chunks);
        res.end(JSON.stringify({ length: all.length, sha: sha256(all) }));
      });
    });
    lb.register({ id: "a", host: "127.0.0.1", port: target.port });
    await lb.waitForHealthy("a", 2000);

    const result = await new Promise<string>((resolve, reject) => {
      const req = request(
        { host: "127.0.0.1", port, path: "/upload", method: "POST", agent: false },
        (res) => {
          let text = "";
          res.on("data", (c: Buffer) => {
            text += c.toString();
          });
          res.on("end", () => resolve(text));
        },
      );
      req.on("error", reject);
      req.write(upload.subarray(0, 1024));
      // Chunked upload: the remainder goes only once the target has the first kilobyte.
      void firstChunk.then(() => req.end(upload.subarray(1024)));
    });
    assert.deepEqual(JSON.parse(result), { length: upload.length, sha: sha256(upload) });
  });

  test("reuses keep-alive connections to the target", async (t) => {
    const { lb, port } = await startLb(t);
    const a = await namedTarget(t, "a");
    lb.register({ id: "a", host: "127.0.0.1", port: a.port });
    await lb.waitForHealthy("a", 2000);
    const before = a.connections();
    for (let i = 0; i < 10; i += 1) assert.equal((await send(port, "/")).status, 200);
    // Health checks open their own connections; ten proxied requests in a row need one.
    const proxied = a.seen.map((req) => req.socket);
    assert.equal(new Set(proxied).size, 1, "all ten requests on one upstream socket");
    assert.ok(a.connections() - before >= 1);
  });

  test("keeps an idle client connection open until the idle timeout, then closes it", async (t) => {
    const { lb, port } = await startLb(t, { idleTimeoutMs: 400 });
    const a = await namedTarget(t, "a");
    lb.register({ id: "a", host: "127.0.0.1", port: a.port });
    await lb.waitForHealthy("a", 2000);
    const socket = connect(port, "127.0.0.1");
    t.after(() => socket.destroy());
    const closed = new Promise<number>((resolve) =>
      socket.once("close", () => resolve(Date.now())),
    );
    let received = "";
    const answered = new Promise<void>((resolve) => {
      socket.on("data", (c: Buffer) => {
        received += c.toString();
        if (received.includes('"id":"a"')) resolve();
      });
    });
    socket.write(`GET / HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`);
    await answered;
    const idleSince = Date.now();
    await delay(250);
    assert.equal(socket.destroyed, false, "still open 250 ms into a 400 ms idle timeout");
    const idle = (await closed) - idleSince;
    assert.ok(idle >= 380 && idle < 2000, `closed after ${idle} ms idle`);
  });

  test("draining finishes in-flight requests, sends new ones elsewhere, then removes the target", async (t) => {
    const { lb, port } = await startLb(t);
    let finishSlow: () => void = () => {};
    const slowReleased = new Promise<void>((resolve) => {
      finishSlow = resolve;
    });
    let slowArrived: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      slowArrived = resolve;
    });
    const a = await startServer(t, (req, res) => {
      if (req.url === "/health") {
        res.end("ok");
        return;
      }
      slowArrived();
      void slowReleased.then(() => res.writeHead(200, { "x-served-by": "a" }).end("slow done"));
    });
    const b = await namedTarget(t, "b");
    lb.register({ id: "a", host: "127.0.0.1", port: a.port });
    await lb.waitForHealthy("a", 2000);
    const slow = send(port, "/slow");
    await arrived;
    lb.register({ id: "b", host: "127.0.0.1", port: b.port });
    await lb.waitForHealthy("b", 2000);

    let drained = false;
    const deregistered = lb.deregister("a").then(() => {
      drained = true;
    });
    assert.deepEqual(
      lb.targets().map((x) => [x.id, x.state, x.inFlight]),
      [
        ["a", "draining", 1],
        ["b", "healthy", 0],
      ],
    );
    for (let i = 0; i < 3; i += 1)
      assert.equal((await send(port, "/")).headers["x-served-by"], "b");
    await delay(100);
    assert.equal(drained, false, "still waiting for the in-flight request");

    finishSlow();
    const reply = await slow;
    assert.equal(reply.status, 200);
    assert.equal(reply.body.toString(), "slow done");
    await deregistered;
    assert.deepEqual(
      lb.targets().map((x) => x.id),
      ["b"],
    );
    // Registered again, it goes through the health checks like a new target.
    lb.register({ id: "a", host: "127.0.0.1", port: a.port });
    assert.equal(lb.targets().find((x) => x.id === "a")?.state, "initial");
    await lb.waitForHealthy("a", 2000);
  });

  test("the deregistration delay cuts requests still in flight", async (t) => {
    const { lb, port } = await startLb(t, { deregistrationDelayMs: 200 });
    const target = await startServer(t, (req, res) => {
      if (req.url === "/health") res.end("ok");
      // otherwise hang
    });
    lb.register({ id: "a", host: "127.0.0.1", port: target.port });
    await lb.waitForHealthy("a", 2000);
    const stuck = send(port, "/stuck");
    while (lb.targets()[0]?.inFlight !== 1) await delay(10);
    const started = Date.now();
    await lb.deregister("a");
    const took = Date.now() - started;
    assert.ok(took >= 190 && took < 1500, `deregistered after ${took} ms`);
    const reply = await stuck;
    assert.equal(reply.status, 502);
    assert.match(reply.body.toString(), /deregistered and did not finish within 0.2 s/);
    assert.deepEqual(lb.targets(), []);
  });

  test("/health/ready is refused to clients however it is spelled, while health checks may probe it", async (t) => {
    const { lb, port } = await startLb(t, { healthCheckPath: "/health/ready" });
    const target = await startServer(t, (req, res) => {
      res.end(req.url?.startsWith("/health") ? "ok" : "page");
    });
    lb.register({ id: "a", host: "127.0.0.1", port: target.port });
    await lb.waitForHealthy("a", 2000); // the balancer's own checks reach it
    for (const path of [
      "/health/ready",
      "/health/ready?x=1",
      "/health/%72eady",
      "//health//ready",
      "/health/./ready",
      "/users/../health/ready",
    ]) {
      const reply = await send(port, path);
      assert.equal(reply.status, 403, path);
      assert.match(reply.body.toString(), /only to the instance itself/);
    }
    assert.equal((await send(port, "/health")).status, 200);
    assert.equal((await send(port, "/health/ready-not")).body.toString(), "ok");
  });

  describe("early answers", () => {
    /** A target that answers `status` from the headers alone, never reading the body. */
    async function earlyTarget(t: TestContext, status: number) {
      const target = await startServer(t, (req, res) => {
        if (req.url === "/health") {
          res.end("ok");
          return;
        }
        const headers: Record<string, string> = { "x-served-by": "early" };
        if (status === 303) headers.location = "/users?done=created";
        res.writeHead(status, headers).end(`target says ${status}`);
      });
      return target;
    }

    for (const status of [413, 401, 303]) {
      test(`a ${status} sent before the 3 MB body is fully sent reaches the client, and its connection stays usable`, async (t) => {
        const { lb, port } = await startLb(t);
        const target = await earlyTarget(t, status);
        lb.register({ id: "early", host: "127.0.0.1", port: target.port });
        await lb.waitForHealthy("early", 2000);
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        t.after(() => agent.destroy());
        for (let i = 0; i < 5; i += 1) {
          const reply = await send(port, "/users", {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: randomBytes(3 * 1024 * 1024),
            agent,
          });
          assert.equal(
            reply.status,
            status,
            `attempt ${i}: ${reply.body.toString().slice(0, 200)}`,
          );
          assert.equal(reply.body.toString(), `target says ${status}`);
          assert.equal(reply.headers["x-served-by"], "early");
        }
      });
    }
    test("a client that keeps streaming into an answered request is cut after the linger time", async (t) => {
      const { lb, port } = await startLb(t, { lingerMs: 300 });
      const target = await earlyTarget(t, 413);
      lb.register({ id: "early", host: "127.0.0.1", port: target.port });
      await lb.waitForHealthy("early", 2000);
      const socket = connect(port, "127.0.0.1");
      t.after(() => socket.destroy());
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.on("error", () => {});
      let answer = "";
      let answeredAt = 0;
      socket.on("data", (c: Buffer) => {
        answer += c.toString();
        answeredAt ||= Date.now();
      });
      const closed = new Promise<number>((resolve) =>
        socket.once("close", () => resolve(Date.now())),
      );
      socket.write("POST /users HTTP/1.1\r\nhost: x\r\ncontent-length: 100000000\r\n\r\n");
      // 1 KB every 20 ms: never idle, never done.
      const drip = setInterval(() => socket.write("a".repeat(1024)), 20);
      t.after(() => clearInterval(drip));
      const end = await closed;
      clearInterval(drip);
      assert.match(answer, /^HTTP\/1\.1 413 /);
      const lingered = end - answeredAt;
      assert.ok(lingered >= 250 && lingered < 2000, `cut ${lingered} ms after the answer`);
    });
  });

  describe("retries on a reset connection", () => {
    /** A target that resets any request arriving on a connection it has served before. */
    async function resettingTarget(t: TestContext) {
      const hits: string[] = [];
      const served = new WeakSet<object>();
      const target = await startServer(t, (req, res) => {
        if (req.url === "/health") {
          res.end("ok");
          return;
        }
        hits.push(req.method ?? "");
        if (served.has(req.socket)) {
          req.socket.resetAndDestroy();
          return;
        }
        served.add(req.socket);
        res.end("first on this connection");
      });
      return { target, hits };
    }

    for (const method of ["POST", "DELETE", "PATCH"]) {
      test(`a body-less ${method} on a reset keep-alive connection is not sent again`, async (t) => {
        const { lb, port } = await startLb(t);
        const { target, hits } = await resettingTarget(t);
        lb.register({ id: "r", host: "127.0.0.1", port: target.port });
        await lb.waitForHealthy("r", 2000);
        assert.equal((await send(port, "/warm")).status, 200);
        const reply = await send(port, "/users/1/delete", {
          method,
          headers: { "content-length": "0" },
        });
        assert.equal(reply.status, 502);
        assert.deepEqual(hits, ["GET", method], `the target saw ${hits.join(", ")}`);
      });
    }

    test("a GET on a reset keep-alive connection is sent again once, on a new connection", async (t) => {
      const { lb, port } = await startLb(t);
      const { target, hits } = await resettingTarget(t);
      lb.register({ id: "r", host: "127.0.0.1", port: target.port });
      await lb.waitForHealthy("r", 2000);
      assert.equal((await send(port, "/warm")).status, 200);
      const reply = await send(port, "/again");
      assert.equal(reply.status, 200);
      assert.deepEqual(hits, ["GET", "GET", "GET"]);
    });
  });

  describe("caps", () => {
    test("connections over maxConnections are refused while those under it are served", async (t) => {
      const { lb, port } = await startLb(t, { maxConnections: 2 });
      const a = await namedTarget(t, "a");
      lb.register({ id: "a", host: "127.0.0.1", port: a.port });
      await lb.waitForHealthy("a", 2000);
      const held = [connect(port, "127.0.0.1"), connect(port, "127.0.0.1")];
      t.after(() => {
        for (const s of held) s.destroy();
      });
      await Promise.all(held.map((s) => new Promise((resolve) => s.once("connect", resolve))));
      await delay(50);
      await assert.rejects(send(port, "/"), /ECONNRESET|socket hang up/);
      for (const s of held) s.destroy();
      await delay(50);
      assert.equal((await send(port, "/")).status, 200);
    });

    test("a client that sends half its headers and goes silent is cut after the idle timeout", async (t) => {
      const { port } = await startLb(t, { idleTimeoutMs: 300 });
      const socket = connect(port, "127.0.0.1");
      t.after(() => socket.destroy());
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.on("error", () => {});
      socket.resume();
      const closed = new Promise<number>((resolve) =>
        socket.once("close", () => resolve(Date.now())),
      );
      socket.write("GET / HTTP/1.1\r\nhost: x\r\nx-slow: ");
      const since = Date.now();
      const after = (await closed) - since;
      // Node's own headersTimeout is only checked every 30 s; the idle cut is what bounds it.
      assert.ok(after >= 250 && after < 2500, `closed after ${after} ms`);
    });

    test("a client that stops sending in the middle of a request is cut after the idle timeout", async (t) => {
      const { lb, port } = await startLb(t, { idleTimeoutMs: 300 });
      // A target that waits for the whole body before answering, as a form handler does.
      const target = await startServer(t, (req, res) => {
        if (req.url === "/health") {
          res.end("ok");
          return;
        }
        req.resume();
        req.on("end", () => res.end("got it"));
      });
      lb.register({ id: "patient", host: "127.0.0.1", port: target.port });
      await lb.waitForHealthy("patient", 2000);
      const socket = connect(port, "127.0.0.1");
      t.after(() => socket.destroy());
      await new Promise((resolve) => socket.once("connect", resolve));
      const closed = new Promise<number>((resolve) =>
        socket.once("close", () => resolve(Date.now())),
      );
      socket.on("error", () => {});
      let answer = "";
      socket.on("data", (c: Buffer) => {
        answer += c.toString();
      });
      // Headers complete, 10 of the 100 announced body bytes, then silence.
      socket.write(
        `POST /users HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n${"a".repeat(10)}`,
      );
      const since = Date.now();
      const after = (await closed) - since;
      assert.ok(after >= 250 && after < 2500, `closed after ${after} ms`);
      // The balancer said why before it let go (the target, waiting for the body, sent nothing).
      assert.match(answer, /^HTTP\/1\.1 504 /);
    });
  });

  test("close() ends health checks and connections so the process can exit", async (t) => {
    const { lb, port } = await startLb(t);
    const a = await namedTarget(t, "a");
    lb.register({ id: "a", host: "127.0.0.1", port: a.port });
    await lb.waitForHealthy("a", 2000);
    await lb.close();
    await assert.rejects(send(port, "/"), /ECONNREFUSED/);
    assert.deepEqual(lb.targets(), []);
  });
});
